"""Model specs (sql/<layer>/_models.yml, assets/specs.py) are the one place a model is described:
its SQL reads only what the spec lists, the asset graph's dependencies and descriptions come from
it, and every column of the analyst file and of the warehouse models has a meaning."""

from __future__ import annotations

import dataclasses

import dagster as dg
import duckdb
import pytest

from assets.specs import LAYERS, SQL_DIR, all_specs, producers, sql_code, undeclared_reads
from pipelines.definitions import defs
from pipelines.sample_data import Effects, generate


def test_each_models_sql_reads_only_the_tables_its_spec_lists():
    assert {s.name: sorted(undeclared_reads(s)) for s in all_specs() if undeclared_reads(s)} == {}
    # The check can fail: drop one listed table from a spec and it is reported.
    fct_exams = next(s for s in all_specs() if s.name == "fct_exams")
    trimmed = dataclasses.replace(fct_exams, upstream=tuple(t for t in fct_exams.upstream if t != "staging.stg_exams"))
    assert undeclared_reads(trimmed) == {"staging.stg_exams"}


def test_every_sql_file_of_a_layer_belongs_to_a_model():
    claimed = {f for s in all_specs() for f in s.sql_files}
    present = {p.relative_to(SQL_DIR).as_posix() for layer in LAYERS for p in (SQL_DIR / layer).glob("*.sql")}
    assert present - claimed == set()
    assert [f for f in claimed if not (SQL_DIR / f).is_file()] == []


def test_asset_dependencies_and_descriptions_come_from_the_specs():
    graph = defs.resolve_asset_graph()
    for model in all_specs():
        keys = ([dg.AssetKey(["month_marts", model.name]), dg.AssetKey(["marts", model.name])] if model.partitioned
                and model.layer == "marts" else [producers(model.table)[0]])
        for key in keys:
            if not graph.has(key):
                continue  # published_runs: written by the publication, no asset of its own
            node = graph.get(key)
            if key.path[0] != "marts" or not model.partitioned:
                assert set(model.deps) <= set(node.parent_keys), key
            published = key.path[0] == "marts"
            assert node.description == (model.published_description if published else model.asset_description), key
    # No unrendered placeholder anywhere the UI shows a description.
    assert [k for k in graph.get_all_asset_keys() if "{" in (graph.get(k).description or "")] == []


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from tests.conftest import TEST_KEY, Paths

    root = tmp_path_factory.mktemp("specs")
    paths = Paths(root)
    # The test key for this run only: the rest of the worker's tests keep the environment they had.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EXAM_RISK_PSEUDONYM_KEY", TEST_KEY)
        generate(paths.landing, entries=3000, seed=12, formats="csv", start="2026-01", months=3, bad_share=0.01,
                 effects=Effects(disruptions=True))
        outcome = paths.run(draw=False)  # the analyst file and the warehouse are tested, not the drawings
    assert outcome.exit_code == 0, outcome.message
    return paths


def test_every_table_and_column_of_the_analyst_file_is_commented(published):
    with duckdb.connect(str(published.analytics), read_only=True) as con:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal "
                             "AND coalesce(comment, '') = ''").fetchall()
        columns = con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal "
                              "AND coalesce(comment, '') = ''").fetchall()
        total = con.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'marts'").fetchone()[0]
    assert tables == [] and columns == []
    assert total > 150


def test_every_column_of_the_warehouse_models_has_a_meaning(published):
    specs = {s.table: s for s in all_specs()}
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        columns = con.execute("SELECT schema_name || '.' || table_name, column_name FROM duckdb_columns() "
                              "WHERE schema_name IN ('staging', 'facts', 'month_marts')").fetchall()
    assert {t for t, _ in columns} <= set(specs)
    assert [(t, c) for t, c in columns if specs[t].column_meaning(c) is None] == []
    # And the spec names no column the table does not have (a renamed column leaves no stale meaning).
    stale = [(s.table, c) for s in specs.values() for c in s.columns
             if s.table.split(".")[0] in ("staging", "facts", "month_marts") and (s.table, c) not in set(columns)]
    assert stale == []


def test_the_readmes_mart_table_is_generated_from_the_specs():
    from assets.specs import marts_table

    assert marts_table() in (SQL_DIR.parent / "README.md").read_text()


def _value_set(source: str, column: str) -> set[str]:
    import json

    suite = json.loads((SQL_DIR.parent / "expectations" / f"{source}.json").read_text())
    return next(set(e["kwargs"]["value_set"]) for e in suite["expectations"]
                if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"].get("column") == column)


def test_the_analyst_file_has_bigint_counts_and_a_lookup_for_every_code(published):
    with duckdb.connect(str(published.analytics), read_only=True) as con:
        wide = con.execute("SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts' "
                           "AND (data_type LIKE 'HUGEINT%' OR data_type LIKE 'DECIMAL%' OR data_type LIKE 'UHUGEINT%')"
                           ).fetchall()
        lookups = {name: {c for (c,) in con.execute(f"SELECT {column} FROM marts.{name}").fetchall()}
                   for name, column in (("ports", "port_code"), ("modes", "mode_of_transport"),
                                        ("entry_types", "entry_type"), ("exam_types", "exam_type"))}
        described = con.execute("SELECT count(*) FROM marts.modes WHERE coalesce(description, '') = ''").fetchone()[0]
        used_ports = {c for (c,) in con.execute("SELECT DISTINCT port_code FROM marts.exam_rates").fetchall()}
        kinds = dict(con.execute("SELECT port_code, kind FROM marts.ports WHERE port_code IN "
                                 "('2304', '2704', '2720', '0901')").fetchall())
    assert wide == []
    # Every code the rule book accepts has its row (the GX suites hold the contract's code lists).
    assert lookups["modes"] == _value_set("entries", "mode_of_transport") and described == 0
    assert lookups["entry_types"] == _value_set("entries", "entry_type")
    assert lookups["exam_types"] == _value_set("exams", "exam_type")
    import csv

    from assets.resources import reference_file

    with open(reference_file("schedule_d_ports.csv")) as f:
        assert lookups["ports"] == {r["port_code"] for r in csv.DictReader(f)}
    assert used_ports <= lookups["ports"]
    assert (kinds["2304"], kinds["0901"], kinds["2720"], kinds["2704"]) == ("land border", "land border", "airport",
                                                                  "seaport or inland")


def test_month_marts_with_quantiles_and_only_they_are_built_one_month_at_a_time():
    """Quantiles hold every value of a group: over 30 months of 100 M entries in one statement they
    spilled more than the disk held, so such a mart is built a month at a time (`by_month`). Any
    other month mart is one statement over the run's months, one scan of the facts."""
    import re

    holistic = re.compile(r"\b(quantile\w*|median|mode)\s*\(")
    marts = [s for s in all_specs() if s.layer == "marts" and s.partitioned]
    assert any(s.by_month for s in marts) and not all(s.by_month for s in marts)
    for model in marts:
        assert model.by_month == bool(holistic.search(sql_code(model.sql).lower())), model.name
    assert not any(s.by_month for s in all_specs() if not (s.layer == "marts" and s.partitioned))
