"""Shared fixtures: a pipeline configured into a temporary folder, and a warehouse with the macros."""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from assets.resources import apply_setup, reference_file

TEST_KEY = "test-pseudonym-key-not-secret"


@dataclass
class Paths:
    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def analytics(self) -> Path:
        return self.root / "analytics.duckdb"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def run(self, **kwargs):
        from pipelines.runner import run_pipeline

        return run_pipeline(landing=str(self.landing), warehouse=str(self.warehouse),
                            analytics=str(self.analytics), reports=str(self.reports), **kwargs)

    def cli_args(self) -> list[str]:
        return ["--landing", str(self.landing), "--warehouse", str(self.warehouse), "--marts", str(self.analytics),
                "--reports", str(self.reports)]


# Seconds each module took on two cores with two workers (`pytest -v --durations=0`, setup, call and
# teardown summed per module; 2026-12-06 at e063724). A scheduling hint only: a stale figure costs
# balance, never a test.
MODULE_SECONDS = {
    "test_incremental": 92, "test_hostile_runs": 90, "test_multiprocess": 89, "test_disruptions": 77,
    "test_bad_input": 74, "test_report": 60, "test_end_to_end": 52, "test_scorecard": 43, "test_webserver": 33,
    "test_bwt": 33, "test_concurrent_readers": 32, "test_instance": 31, "test_event_log": 20, "test_statistics": 19,
    "test_hostile_corpus": 19, "test_automation": 15, "test_definitions": 11, "test_notebook": 10,
    "test_ingest_files": 9, "test_specs": 8, "test_workers": 5, "test_rules": 4, "test_quality_gx": 2,
    "test_generator": 2, "test_warehouse": 1, "test_claims": 0.1, "test_contract": 0.1,
}


def pytest_collection_modifyitems(config, items):
    """The longest modules first (a stable sort: each module's tests keep their order); a module not in
    MODULE_SECONDS counts as the longest, its duration unknown. pytest-xdist hands out whole modules
    in this order (pyproject.toml), so the short ones fill the end. Handed out by the `slow` marker
    alone, test_scorecard (then 105 s, no slow test) started late and ran alone for the last 30 s of one
    run while the other worker sat idle."""
    items.sort(key=lambda item: -MODULE_SECONDS.get(item.path.stem, math.inf))


@pytest.fixture(autouse=True, scope="session")
def dagster_home(tmp_path_factory) -> Path:
    """One persistent Dagster instance for the session's CLI runs (pipelines/instance.py), never the
    repository's own `.dagster_home`."""
    import os

    home = tmp_path_factory.mktemp("dagster_home")
    old = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    # The suite's runs draw a few small months each, several runs at once in some tests: make test took
    # 76 min with a worker per CPU against 66 min before the workers (fresh-clone CI logs of 2026-12-02),
    # so the suite draws in the run's own process, as before. test_workers.py covers the workers;
    # make bench-smoke runs the pipeline with the default (one per CPU).
    os.environ.setdefault("EXAM_RISK_DRAWING_WORKERS", "1")
    yield home
    if old is None:
        os.environ.pop("DAGSTER_HOME", None)
    else:
        os.environ["DAGSTER_HOME"] = old


def prepared_paths(root: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """A pipeline in `root` with the test key and the operator's settings cleared (for as long as
    `monkeypatch` lasts) and empty landing folders for entries, exams and CTPAT."""
    monkeypatch.setenv("EXAM_RISK_PSEUDONYM_KEY", TEST_KEY)
    for var in ("EXAM_RISK_ACCEPT", "EXAM_RISK_MAX_REJECT_SHARE", "EXAM_RISK_PSEUDONYM_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    p = Paths(root)
    for source in ("entries", "exams", "ctpat"):
        (p.landing / source).mkdir(parents=True)
    return p


@pytest.fixture
def paths(tmp_path, monkeypatch) -> Paths:
    return prepared_paths(tmp_path, monkeypatch)


def copy_of(published: Path, paths: Paths) -> Paths:
    """A test's own copy of a pipeline folder (landing zone, warehouse, analyst file, reports) that a
    module fixture ran once: each test starts from the same publication without paying for the run
    again. The copied landing files have new inodes and change times, so the next run hashes them
    again and finds the content it has (nothing new)."""
    shutil.copytree(published, paths.root, dirs_exist_ok=True)
    return paths


@pytest.fixture
def macros() -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with the schemas, macros and Schedule D ports."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    apply_setup(con)
    con.execute("CREATE TABLE ref.schedule_d_ports AS SELECT * FROM read_csv(?, all_varchar = true, header = true)",
                [str(reference_file("schedule_d_ports.csv"))])
    yield con
    con.close()


VOLATILE_COLUMNS = {"first_seen_at"}  # when a file was first seen differs between otherwise equal runs


def analytics_tables(path: Path) -> dict:
    """Every marts table of an analytics file as sorted rows (for equality of whole publications)."""
    with duckdb.connect(str(path), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name <> 'published_runs'"
        ).fetchall()]
        out = {}
        for name in names:
            cols = [r[0] for r in con.execute(f"DESCRIBE marts.{name}").fetchall() if r[0] not in VOLATILE_COLUMNS]
            out[name] = sorted(con.execute(f"SELECT {', '.join(cols)} FROM marts.{name}").fetchall(), key=repr)
        return out
