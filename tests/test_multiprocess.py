"""The multiprocess executor, as an operator launches it (the README's forkserver start method, with
pipelines.step_modules preloaded): every warehouse writer waits for the one slot of the `duckdb_warehouse`
pool (pipelines/dagster.yaml), so parallel steps, and parallel runs of a backfill, never collide on
DuckDB's single-writer lock."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from assets.reports.assets import REPORTS_MARKER, months_waiting
from assets.resources import Warehouse
from conftest import TEST_KEY
from pipelines.sample_data import generate

ROOT = Path(__file__).resolve().parent.parent


def dagster_job(job: str, env: dict, config: Path, tags: dict | None = None,
                code: tuple[str, str] = ("-m", "pipelines.definitions")) -> subprocess.Popen:
    command = [str(Path(sys.executable).parent / "dagster"), "job", "execute", *code,
               "-j", job, "-c", str(config)] + (["--tags", json.dumps(tags)] if tags else [])
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finished(process: subprocess.Popen) -> str:
    log, _ = process.communicate(timeout=1800)  # beside other test workers on two cores
    assert process.returncode == 0, log[-3000:]
    assert "RUN_SUCCESS" in log and "Could not set lock" not in log
    return log


@pytest.mark.slow
def test_multiprocess_ingest_then_a_backfill_of_several_months(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "pipelines" / "dagster.yaml", home / "dagster.yaml")
    generate(tmp_path / "landing", entries=3000, seed=4)
    # YAML reads JSON: the run config as the README gives it.
    (tmp_path / "run.yaml").write_text(json.dumps({"execution": {"config": {"multiprocess": {
        "max_concurrent": 4, "start_method": {"forkserver": {"preload_modules": ["pipelines.step_modules"]}}}}}}))
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT), "EXAM_RISK_PSEUDONYM_KEY": TEST_KEY,
           "EXAM_RISK_LANDING": str(tmp_path / "landing"), "EXAM_RISK_WAREHOUSE": str(tmp_path / "w.duckdb"),
           "EXAM_RISK_ANALYTICS": str(tmp_path / "a.duckdb"), "EXAM_RISK_REPORTS": str(tmp_path / "reports")}
    log = finished(dagster_job("exam_risk_ingest", env, tmp_path / "run.yaml"))
    assert "Step blocked by limit for pool duckdb_warehouse" in log  # steps really queued for the slot
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        months = [m for (m,) in con.execute("SELECT month FROM meta.open_months ORDER BY 1").fetchall()]
    assert len(months) >= 6

    # The backfill: three runs at once, each a range of months on the multiprocess executor.
    ranges = [(min(t), max(t)) for t in (months[:2], months[2:4], months[4:])]
    runs = [dagster_job("exam_risk_months", env, tmp_path / "run.yaml", {
        "dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}) for first, last in ranges]
    logs = [finished(run) for run in runs]
    assert any("blocked by limit for pool duckdb_warehouse" in log for log in logs)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM meta.open_months").fetchall()[0][0] == 0
        built = con.execute("SELECT count(*), count(DISTINCT month) FROM facts.fct_entries").fetchall()[0]
        staged = con.execute("SELECT count(*) FROM staging.stg_entries").fetchall()[0][0]
    assert built == (staged, len(months))
    with duckdb.connect(str(tmp_path / "a.duckdb"), read_only=True) as con:
        assert con.execute("SELECT sum(entries) FROM marts.exam_rates").fetchall()[0][0] == staged
    # Each run's build listed every month rebuilt and unpublished; whichever runs drew a month, the
    # reports in place hold every month's rebuild as the published file does, and no month waits.
    assert months_waiting(tmp_path / "a.duckdb", tmp_path / "reports")[0] == []
    marker = json.loads((tmp_path / "reports" / REPORTS_MARKER).read_text())["months"]
    assert sorted(marker) == months and all((tmp_path / "reports" / m / f"ctpat_report_{m}.pdf").exists() for m in months)
    # ... and they were not drawn by every run (before month rebuilds, each run drew all six months).
    drawn = [m for log in logs for line in re.findall(r"reports for (\d{4}-\d\d(?:, \d{4}-\d\d)*)", log) for m in line.split(", ")]
    assert set(drawn) == set(months) and len(drawn) < len(ranges) * len(months), drawn


# A job whose module, preloaded by the forkserver after pipelines.step_modules, writes the modules the
# forkserver holds; its one step writes the modules its process holds.
PROBE = """
import json, os, sys
import dagster as dg

with open(os.environ["PROBE_OUT"] + ".forkserver", "w") as out:
    json.dump(sorted(sys.modules), out)

@dg.op
def modules():
    with open(os.environ["PROBE_OUT"] + ".step", "w") as out:
        json.dump(sorted(sys.modules), out)

@dg.job
def probe():
    modules()
"""


def test_a_step_s_process_finds_what_dagster_imports_for_it_in_the_preload(tmp_path):
    """A step's process, forked from the forkserver that imported pipelines.step_modules, finds there
    what Dagster imports for a step (before: 407 modules more, rich, alembic and structlog among them,
    about 0.26 s of a core per step)."""
    (tmp_path / "probe_job.py").write_text(PROBE)
    (tmp_path / "home").mkdir()
    shutil.copy(ROOT / "pipelines" / "dagster.yaml", tmp_path / "home" / "dagster.yaml")
    (tmp_path / "run.yaml").write_text(json.dumps({"execution": {"config": {"multiprocess": {
        "start_method": {"forkserver": {"preload_modules": ["pipelines.step_modules", "probe_job"]}}}}}}))
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]),
           "EXAM_RISK_PSEUDONYM_KEY": TEST_KEY, "PROBE_OUT": str(tmp_path / "modules")}
    finished(dagster_job("probe", env, tmp_path / "run.yaml", code=("-f", str(tmp_path / "probe_job.py"))))
    preloaded, step = (set(json.loads((tmp_path / f"modules.{name}").read_text())) for name in ("forkserver", "step"))
    imported = step - preloaded
    heavy = sorted(m for m in imported if m.split(".")[0] in {"rich", "alembic", "structlog", "sqlalchemy", "great_expectations",
                                                              "matplotlib", "pandas", "scipy", "duckdb", "polars"})
    assert heavy == [] and len(imported) < 150, (heavy, len(imported))


def test_a_session_waits_for_another_process_s_session_instead_of_failing_on_the_lock(tmp_path):
    """The pool's slot is the first guard; this is the second, for when two runs on the SQLite instance
    storage claim the one slot at once: the second session waits for the first to close."""
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from assets.resources import Warehouse\n"
                               "with Warehouse(path=sys.argv[1]).session() as con:\n"
                               " print('held', flush=True); time.sleep(3); con.execute('CREATE TABLE meta.first AS SELECT 1 AS x')",
                               str(path)], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert holder.stdout.readline().strip() == "held"
    with Warehouse(path=str(path)).session() as con:  # would raise "Could not set lock on file" without the wait
        assert con.execute("SELECT x FROM meta.first").fetchall() == [(1,)]
    assert holder.wait(timeout=60) == 0
