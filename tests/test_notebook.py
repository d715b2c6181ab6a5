"""The analyst notebook runs against published marts and answers its three questions with charts."""

import os
import subprocess
import sys
from pathlib import Path

from pipelines.sample_data import generate

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "analyst_questions.py"


def test_notebook_runs_against_the_demo_marts(paths, tmp_path):
    generate(paths.landing, entries=20_000, seed=7)
    assert paths.run().exit_code == 0
    out = tmp_path / "notebook"
    env = {**os.environ, "EXAM_RISK_ANALYTICS": str(paths.analytics), "NOTEBOOK_OUTPUT": str(out)}
    result = subprocess.run([sys.executable, str(NOTEBOOK)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "busiest crossing: ('230404', 'World Trade Bridge', 19)" in result.stdout
    for chart in ("q1_exam_gap_by_port.png", "q2_inspection_waits_by_month.png", "q3_fast_vs_standard_busiest.png"):
        assert (out / chart).read_bytes()[:4] == b"\x89PNG"
