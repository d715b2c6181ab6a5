"""The one configuration object: every path and setting the assets use, from env vars or the CLI.

| setting            | env var                         | default                    |
|--------------------|---------------------------------|----------------------------|
| landing zone       | EXAM_RISK_LANDING               | data/landing               |
| warehouse file     | EXAM_RISK_WAREHOUSE             | data/warehouse.duckdb      |
| analyst marts file | EXAM_RISK_ANALYTICS             | data/analytics.duckdb      |
| reports folder     | EXAM_RISK_REPORTS               | data/reports               |
| gate threshold     | EXAM_RISK_MAX_REJECT_SHARE      | 0.05                       |
| accepted files     | EXAM_RISK_ACCEPT (comma list)   | none                       |
| pseudonym key      | EXAM_RISK_PSEUDONYM_KEY         | none                       |
| pseudonym key file | EXAM_RISK_PSEUDONYM_KEY_FILE    | none                       |
| first month        | EXAM_RISK_FIRST_MONTH           | 2020-01 (first partition)  |
| DuckDB memory      | EXAM_RISK_MEMORY_LIMIT          | 2GB (spills beyond it)     |
"""

from __future__ import annotations

import contextlib
import os
from importlib import resources
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb

REPO_ROOT = Path(__file__).resolve().parent.parent
# Every asset that writes the warehouse is in this Dagster concurrency pool; with its limit at 1
# (pipelines/dagster.yaml) no two of them run at once, whatever the executor: DuckDB allows one
# writing process per database file.
WAREHOUSE_POOL = "duckdb_warehouse"
# The chart and report assets share one folder and the marker files that say which publications are
# drawn; in a pool of their own, concurrent runs take turns drawing (readers are safe anyway: every
# file is written beside its target and renamed into place, assets/reports/files.py).
REPORTS_POOL = "report_files"
SQL_DIR = REPO_ROOT / "sql"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"

ENV_DEFAULTS = {
    "EXAM_RISK_LANDING": "data/landing",
    "EXAM_RISK_WAREHOUSE": "data/warehouse.duckdb",
    "EXAM_RISK_ANALYTICS": "data/analytics.duckdb",
    "EXAM_RISK_REPORTS": "data/reports",
    "EXAM_RISK_MAX_REJECT_SHARE": "0.05",
    "EXAM_RISK_ACCEPT": "",
    "EXAM_RISK_PSEUDONYM_KEY": "",
    "EXAM_RISK_PSEUDONYM_KEY_FILE": "",
    "EXAM_RISK_FIRST_MONTH": "2020-01",
    # 2GB: the 10 M benchmark ran as fast as with 8GB (DuckDB spills what it must) and the whole
    # process, Polars and GX included, peaked at 2.7 GB instead of 4.4 GB.
    "EXAM_RISK_MEMORY_LIMIT": "2GB",
}


def env(name: str) -> str:
    return os.environ.get(name) or ENV_DEFAULTS[name]


def read_sql(relative: str) -> str:
    return (SQL_DIR / relative).read_text()


class MissingPseudonymKey(RuntimeError):
    pass


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse file the pipeline owns (one writer: analysts never open it)."""

    path: str
    memory_limit: str = ENV_DEFAULTS["EXAM_RISK_MEMORY_LIMIT"]

    def connect(self) -> duckdb.DuckDBPyConnection:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path, config={"memory_limit": self.memory_limit})
        con.execute("SET TimeZone = 'UTC'")
        return con

    @contextlib.contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection with the schemas, bookkeeping tables and macros in place."""
        con = self.connect()
        try:
            con.execute(read_sql("setup/schemas.sql"))
            con.execute(read_sql("setup/macros.sql"))
            yield con
        finally:
            con.close()


class PipelineSettings(dg.ConfigurableResource):
    """Where files come from and go to, and the quality gate's policy."""

    landing: str
    analytics: str
    reports: str
    max_reject_share: float = 0.05
    accept: list[str] = []
    pseudonym_key: str = ""
    pseudonym_key_file: str = ""

    def landing_folder(self, source: str) -> Path:
        return Path(self.landing) / source

    def key_bytes(self) -> bytes:
        """The secret under which importer numbers become HMAC-SHA256 pseudonyms."""
        if self.pseudonym_key:
            return self.pseudonym_key.encode()
        if self.pseudonym_key_file and Path(self.pseudonym_key_file).is_file():
            key = Path(self.pseudonym_key_file).read_text().strip()
            if key:
                return key.encode()
        raise MissingPseudonymKey(
            "no pseudonym key: set EXAM_RISK_PSEUDONYM_KEY, or EXAM_RISK_PSEUDONYM_KEY_FILE to a file "
            "holding the key (make demo creates data/pseudonym.key)")


def resources_from_env(**overrides) -> dict:
    """Resources as the environment configures them; CLI flags arrive as overrides."""
    accept = [a for a in env("EXAM_RISK_ACCEPT").split(",") if a]
    settings = dict(
        landing=env("EXAM_RISK_LANDING"), analytics=env("EXAM_RISK_ANALYTICS"),
        reports=env("EXAM_RISK_REPORTS"), max_reject_share=float(env("EXAM_RISK_MAX_REJECT_SHARE")),
        accept=accept, pseudonym_key=env("EXAM_RISK_PSEUDONYM_KEY"),
        pseudonym_key_file=env("EXAM_RISK_PSEUDONYM_KEY_FILE"))
    warehouse = overrides.pop("warehouse", None) or env("EXAM_RISK_WAREHOUSE")
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return {"warehouse": Warehouse(path=warehouse, memory_limit=env("EXAM_RISK_MEMORY_LIMIT")), "settings": PipelineSettings(**settings)}


def reference_file(name: str):
    return resources.files("assets.reference") / name
