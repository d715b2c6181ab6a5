"""The analyst notebook: its .ipynb (JupyterLab) and its percent script are the same notebook, and
it runs against published marts, answering its three questions with charts that name ports and
modes and show sample sizes and intervals."""

import os
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat

from pipelines.sample_data import generate

FOLDER = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOK = FOLDER / "analyst_questions.py"


def test_the_ipynb_and_the_script_are_one_notebook():
    paired = nbformat.read(FOLDER / "analyst_questions.ipynb", as_version=4)
    nbformat.validate(paired)
    script = jupytext.read(NOTEBOOK)
    assert [(c.cell_type, c.source) for c in paired.cells] == [(c.cell_type, c.source) for c in script.cells]
    assert paired.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert all(not c.get("outputs") for c in paired.cells if c.cell_type == "code")  # stored without outputs


def test_notebook_runs_against_the_demo_marts(paths, tmp_path):
    generate(paths.landing, entries=20_000, seed=7)
    assert paths.run(draw=False).exit_code == 0  # the notebook reads the marts only
    out = tmp_path / "notebook"
    env = {**os.environ, "EXAM_RISK_ANALYTICS": str(paths.analytics), "NOTEBOOK_OUTPUT": str(out)}
    result = subprocess.run([sys.executable, str(NOTEBOOK)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "busiest crossing: ('230404', 'World Trade Bridge', 19)" in result.stdout
    assert "LAREDO" in result.stdout or "DETROIT" in result.stdout  # ports by name (marts.ports)
    for chart in ("q1_exam_gap_by_port.png", "q2_inspection_waits_by_month.png", "q3_fast_vs_standard_busiest.png"):
        assert (out / chart).read_bytes()[:4] == b"\x89PNG"
