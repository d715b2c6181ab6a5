"""Model specs: one YAML per layer beside its SQL (sql/<layer>/_models.yml) holds each model's
description, grain, partitioning, upstream tables and the meaning of its columns where it differs
from sql/_columns.yml. Asset descriptions, asset dependencies, column schemas and the analyst
file's COMMENT ON statements are derived from them; tests/test_specs.py checks that each model's SQL
reads only the tables its spec lists and that every column has a meaning."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import yaml

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
LAYERS = ("staging", "facts", "marts", "scorecard")
CHECKED_SOURCES = ("entries", "exams", "ctpat", "disruptions", "bwt")
# A table in the warehouse (or the analyst file) that a model reads, as `schema.table`.
TABLE_REFERENCE = re.compile(r"\b(raw|quality|staging|facts|month_marts|marts|meta|ref|scorecard)\.([a-z_][a-z0-9_]*)\b")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    layer: str
    table: str  # where it lives: schema.table (month marts: month_marts.X in the warehouse, marts.X published)
    description: str
    grain: str
    upstream: tuple[str, ...]
    sql: str | None = None  # relative to sql/; None for a table written by Python (named in built_by)
    also_runs: tuple[str, ...] = ()  # bookkeeping SQL run with the model (it may read upstream tables too)
    partitioned: bool = False
    # A partitioned model with quantiles (holistic aggregates) is built one month at a time, so that its
    # memory follows a month; the others in one statement over the run's months (one scan of the facts).
    by_month: bool = False
    built_by: str | None = None
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def sql_files(self) -> tuple[str, ...]:
        return ((self.sql,) if self.sql else ()) + self.also_runs

    @property
    def asset_description(self) -> str:
        where = f"sql/{self.sql}" if self.sql else self.built_by
        return f"{self.description}\n\nGrain: {self.grain}. Table `{self.table}`; defined in `{where}`."

    @property
    def published_description(self) -> str:
        """The analyst file's copy (marts.X): a month mart is copied from the warehouse's month_marts.X."""
        where = f"sql/{self.sql}" if self.sql else self.built_by
        origin = f" (a copy of the warehouse's `{self.table}`)" if self.table != f"marts.{self.name}" else ""
        return (f"{self.description}\n\nGrain: {self.grain}. Table `marts.{self.name}` of the analyst file{origin}; "
                f"defined in `{where}`, described in `sql/{self.layer}/_models.yml`.")

    @property
    def deps(self) -> list[dg.AssetKey]:
        """The assets writing its upstream tables (not itself: a month mart's publication copy reads it)."""
        keys = []
        for table in self.upstream:
            for key in producers(table):
                if key not in keys and table != self.table:
                    keys.append(key)
        return keys

    def column_meaning(self, column: str) -> str | None:
        return self.columns.get(column) or glossary().get(column)

    def column_schema(self, described: list[tuple[str, str]]) -> dg.TableSchema:
        """Dagster's column schema from the table's DuckDB columns (name, type) and their meanings."""
        return dg.TableSchema(columns=[dg.TableColumn(name, kind, description=self.column_meaning(name) or "")
                                       for name, kind in described])


def producers(table: str) -> list[dg.AssetKey]:
    """The assets that write a table: what reading it depends on. Bookkeeping (meta.*) is written by
    every layer and is no asset."""
    schema, name = table.split(".")
    if schema == "meta":
        return []
    if schema == "raw":  # the quality gate decides which raw rows are stageable: staging follows it
        return [dg.AssetKey(f"checked_{name}")]
    if schema == "quality":
        return [dg.AssetKey(f"checked_{s}") for s in CHECKED_SOURCES]
    if schema == "scorecard":
        return [dg.AssetKey("ctpat_benefit_estimates")]
    if schema in ("month_marts", "marts"):
        return [dg.AssetKey([schema, name])]
    return [dg.AssetKey(name)]  # ref.*, staging.*, facts.*


@functools.cache
def glossary() -> dict[str, str]:
    return yaml.safe_load((SQL_DIR / "_columns.yml").read_text())


@functools.cache
def layer_specs(layer: str) -> dict[str, ModelSpec]:
    raw = yaml.safe_load((SQL_DIR / layer / "_models.yml").read_text())
    return {name: ModelSpec(name=name, layer=layer, table=body["table"], description=" ".join(body["description"].split()),
                            grain=body["grain"], upstream=tuple(body.get("upstream", ())), sql=body.get("sql"),
                            also_runs=tuple(body.get("also_runs", ())), partitioned=body.get("partitioned", False),
                            by_month=body.get("by_month", False),
                            built_by=body.get("built_by"), columns=body.get("columns") or {})
            for name, body in raw.items()}


def spec(layer: str, name: str) -> ModelSpec:
    return layer_specs(layer)[name]


def all_specs() -> list[ModelSpec]:
    return [s for layer in LAYERS for s in layer_specs(layer).values()]


def sql_code(sql_file: str) -> str:
    """A SQL file's text without its comments (what the statements say, not what the comments say)."""
    return re.sub(r"--[^\n]*", "", (SQL_DIR / sql_file).read_text())


def tables_read(sql_file: str) -> set[str]:
    """The schema-qualified tables a SQL file reads (comments ignored)."""
    return {f"{schema}.{name}" for schema, name in TABLE_REFERENCE.findall(sql_code(sql_file))}


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def comment_statements(analyst_tables: list[tuple[str, str]], layer: str = "marts") -> list[str]:
    """COMMENT ON the analyst file's tables and every column (analyst_tables: (table, column) pairs as
    DuckDB lists them), from the marts specs and the glossary; a column without a meaning raises."""
    specs = layer_specs(layer)
    statements, missing = [], []
    for table in sorted({t for t, _ in analyst_tables}):
        model = specs[table]
        statements.append(f"COMMENT ON TABLE marts.{table} IS {quoted(model.description + ' Grain: ' + model.grain + '.')}")
    for table, column in analyst_tables:
        meaning = specs[table].column_meaning(column)
        if meaning is None:
            missing.append(f"marts.{table}.{column}")
        else:
            statements.append(f'COMMENT ON COLUMN marts.{table}."{column}" IS {quoted(meaning)}')
    if missing:
        raise ValueError(f"columns without a meaning in sql/marts/_models.yml or sql/_columns.yml: {', '.join(missing)}")
    return statements


def mart_names(partitioned: bool) -> list[str]:
    """The marts rebuilt per month in the warehouse (True) or built at publication from their SQL."""
    return [s.name for s in layer_specs("marts").values() if s.partitioned == partitioned and s.sql]


def table_metadata(con, model: ModelSpec, table: str, rows: int) -> dict:
    """Dagster's standard table metadata: the row count (of what the run wrote) and the column schema
    (DuckDB's types, the spec's meanings), shown on the asset's page."""
    described = [(name, kind) for name, kind, *_ in con.execute(f"DESCRIBE {table}").fetchall()]
    return {"dagster/row_count": rows, "dagster/column_schema": model.column_schema(described)}


def undeclared_reads(model: ModelSpec) -> set[str]:
    """Tables the model's SQL (and the bookkeeping run with it) reads that its spec does not list."""
    read = set().union(*(tables_read(f) for f in model.sql_files))
    return read - set(model.upstream) - {model.table}


def marts_table() -> str:
    """The README's table of the analyst file's marts, from their specs (tests/test_specs.py keeps the
    README equal to it; regenerate with `.venv/bin/python -m assets.specs`)."""
    rows = [f"| `marts.{s.name}` | {s.grain} | {s.description} |" for s in layer_specs("marts").values()]
    return "\n".join(["| table | grain | what |", "|---|---|---|", *rows])


if __name__ == "__main__":
    print(marts_table())
