"""The multiprocess executor, as an operator launches it: every warehouse writer waits for the one
slot of the `duckdb_warehouse` pool (pipelines/dagster.yaml), so parallel steps never collide on
DuckDB's single-writer lock."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from conftest import TEST_KEY
from pipelines.sample_data import generate

ROOT = Path(__file__).resolve().parent.parent


def test_multiprocess_run_with_the_warehouse_pool(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "pipelines" / "dagster.yaml", home / "dagster.yaml")
    generate(tmp_path / "landing", entries=3000, seed=4)
    (tmp_path / "run.yaml").write_text("execution:\n  config:\n    multiprocess:\n      max_concurrent: 4\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT), "EXAM_RISK_PSEUDONYM_KEY": TEST_KEY,
           "EXAM_RISK_LANDING": str(tmp_path / "landing"), "EXAM_RISK_WAREHOUSE": str(tmp_path / "w.duckdb"),
           "EXAM_RISK_ANALYTICS": str(tmp_path / "a.duckdb"), "EXAM_RISK_REPORTS": str(tmp_path / "reports")}
    result = subprocess.run([str(Path(sys.executable).parent / "dagster"), "job", "execute", "-m", "pipelines.definitions",
                             "-j", "exam_risk_ingest", "-c", str(tmp_path / "run.yaml")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert "RUN_SUCCESS" in log and "Could not set lock" not in log
    assert "Step blocked by limit for pool duckdb_warehouse" in log  # steps really queued for the slot
    with duckdb.connect(str(tmp_path / "a.duckdb"), read_only=True) as con:
        assert con.execute("SELECT sum(entries) FROM marts.exam_rates").fetchall()[0][0] > 2900
