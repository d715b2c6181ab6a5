"""What `dagster dev` shows is what the code defines; the CLI documents its settings."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from assets.resources import REPORTS_POOL, WAREHOUSE_POOL
from pipelines.definitions import defs
from pipelines.planner import INGEST_JOB, MONTHS_JOB, PUBLISH_JOB

ROOT = Path(__file__).resolve().parent.parent


def test_asset_graph_has_the_layer_groups_in_flow_order():
    graph = defs.resolve_asset_graph()
    groups = {}
    for key in graph.get_all_asset_keys():
        groups.setdefault(graph.get(key).group_name, set()).add(key.to_user_string())
    order = ["ingest", "quality", "staging", "facts", "marts", "scorecard", "analyst_file", "reports"]
    assert set(groups) == set(order)
    assert {"raw_entries", "raw_exams", "raw_ctpat", "raw_disruptions", "raw_bwt", "schedule_d_ports", "bwt_crossings",
            "hts_sections", "mode_codes", "entry_type_codes", "exam_type_codes"} == groups["ingest"]
    assert "month_marts/exam_rates" in groups["marts"] and "marts/exam_rates" in groups["analyst_file"]
    assert "monthly_report" in groups["reports"] and groups["scorecard"] == {"ctpat_benefit_estimates"}
    # Data flows one way: every asset's upstream lies in its own group or an earlier one.
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        for parent in node.parent_keys:
            assert order.index(graph.get(parent).group_name) <= order.index(node.group_name), (key, parent)


def test_every_suite_expectation_surfaces_as_an_asset_check():
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert ("checked_entries", "bad_check_digit") in checks
    assert ("checked_ctpat", "overlapping_interval") in checks
    assert {("checked_entries", "quality_gate"), ("checked_exams", "quality_gate"), ("checked_ctpat", "quality_gate")} <= checks
    assert ("checked_disruptions", "reopened_before_closed") in checks
    assert len(checks) == 14 + 11 + 5 + 6 + 4 + 7


def test_dagster_definitions_validate():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w",
                             str(ROOT / "workspace.yaml")], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_help_documents_every_setting():
    result = subprocess.run([sys.executable, "-m", "pipelines", "run", "--help"], cwd=ROOT, capture_output=True, text=True)
    for name in ("EXAM_RISK_LANDING", "EXAM_RISK_WAREHOUSE", "EXAM_RISK_ANALYTICS", "EXAM_RISK_REPORTS",
                 "EXAM_RISK_MAX_REJECT_SHARE", "EXAM_RISK_PSEUDONYM_KEY", "--accept", "--max-reject-share"):
        assert name in result.stdout


def test_a_run_without_a_key_fails_with_a_clear_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAM_RISK_")}
    result = subprocess.run([sys.executable, "-m", "pipelines", "run", "--landing", str(tmp_path / "landing"),
                             "--warehouse", str(tmp_path / "w.duckdb"), "--marts", str(tmp_path / "a.duckdb"),
                             "--reports", str(tmp_path / "r")], cwd=ROOT, capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert "no pseudonym key" in result.stderr and "EXAM_RISK_PSEUDONYM_KEY" in result.stderr
    assert not (tmp_path / "w.duckdb").exists()


def test_pseudonyms_are_hmac_sha256(macros):
    import hashlib
    import hmac

    from assets.marts.pseudonyms import pseudonym_macro_sql

    for key in (b"k", b"a-much-longer-key-" * 5):  # shorter and longer than the 64-byte block
        macros.execute(pseudonym_macro_sql(key))
        for number in ("12-3456789AB", "123-45-6789", "260115-12345"):
            got = macros.execute("SELECT importer_pseudonym(?)", [number]).fetchone()[0]
            assert got == hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def test_dagster_materializes_with_checks_recorded(paths):
    """The quality checks are reported as Dagster asset check evaluations, from GX's results."""
    from assets.resources import resources_from_env
    from landing_builders import ENTRY_DEFECTS, ctpat, exam, good_entries, write_csv
    from pipelines.definitions import ALL_ASSETS, INGEST

    write_csv(paths.landing / "entries" / "e.csv", good_entries(range(1, 60)) + [ENTRY_DEFECTS["bad_check_digit"]])
    write_csv(paths.landing / "exams" / "x.csv", [exam("X1", 1)])
    write_csv(paths.landing / "ctpat" / "c.csv", [ctpat("12-3456789AB")])
    resources = resources_from_env(landing=str(paths.landing), warehouse=str(paths.warehouse),
                                   analytics=str(paths.analytics), reports=str(paths.reports))
    result = dg.materialize(ALL_ASSETS, resources=resources, selection=INGEST)
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    digit = evaluations[("checked_entries", "bad_check_digit")]
    assert digit.passed is False and digit.metadata["unexpected_rows"].value == 1
    assert evaluations[("checked_entries", "quality_gate")].passed is True
    assert evaluations[("checked_exams", "unknown_outcome")].passed is True



def test_the_readme_settings_table_is_the_settings_object():
    """Every row of the operators' configuration table is a setting of assets/settings.py with its
    flag and default, and every setting has its row."""
    import re

    from assets.settings import SETTINGS

    text = (ROOT / "README.md").read_text()
    table = text[text.index("| setting | flag | environment variable | default |"):]
    table = table[:table.index("\n\n")]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[re.findall(r"EXAM_RISK_[A-Z_]+", cells[2])[0]] = cells
    assert set(rows) == {s.env for s in SETTINGS}
    for s in SETTINGS:
        _, flag, _, default = rows[s.env]
        assert re.findall(r"--[a-z-]+", flag) == ([s.flag] if s.flag else []), s.env
        assert (f"`{s.default}`" in default) if s.default else not default.startswith("`"), s.env


def test_every_step_of_every_job_is_in_a_pool():
    """The event log storage makes a run none of whose steps holds a slot wait inside its claim
    (pipelines/event_log.py): right only if such a run has no step running, so no step may be
    outside a pool."""
    for job in (INGEST_JOB, MONTHS_JOB, PUBLISH_JOB):
        pools = {node.name: node.definition.pool for node in defs.resolve_job_def(job).graph.nodes}
        assert set(pools.values()) <= {WAREHOUSE_POOL, REPORTS_POOL}, (job, pools)


def test_every_step_belongs_to_a_benchmark_stage():
    """bench/run.py times the pipeline by stage: a new asset must be given one (make bench-smoke failed
    when the lookup tables' reference assets came without)."""
    from bench.run import stage_of

    graph = defs.resolve_asset_graph()
    steps = {graph.get(k).assets_def.node_def.name for k in graph.get_all_asset_keys()}
    assert {s: stage_of(s) for s in steps}


def test_importing_the_definitions_leaves_the_heavy_libraries_to_the_steps_that_use_them():
    """Every step process of the multiprocess executor, the UI, the daemon and each CLI run import
    the definitions first: matplotlib, numba and Great Expectations (about 3.5 s of imports) are
    imported by the assets that draw, estimate or validate, not by the import of the graph."""
    code = ("import sys, pipelines.definitions; "
            "print(' '.join(m for m in ('matplotlib', 'numba', 'great_expectations', 'scipy') if m in sys.modules))")
    root = Path(__file__).resolve().parent.parent
    loaded = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []


def test_the_scale_benchmark_counts_the_memory_of_every_process_of_the_measured_tree():
    """bench/scale.py's peak memory is the process tree's: a child holding 200 MB while its own child
    holds 300 MB is 500 MB (and not the size of the process that forked it: this test's worker)."""
    import sys

    from bench.scale import measure

    def hold(mb: int) -> str:
        return f"block = bytearray({mb} * 2**20); block[::4096] = b'x' * len(block[::4096])"
    grandchild = f"import time; {hold(300)}; time.sleep(2)"
    child = f"import subprocess, sys; {hold(200)}; subprocess.run([sys.executable, '-c', {grandchild!r}], check=True)"
    measured = measure([sys.executable, "-c", child])
    assert 500 < measured["peak_tree_pss_mb"] < 650


def test_the_suite_s_schedule_lists_every_test_module_and_no_other():
    """tests/conftest.py hands out modules by their recorded seconds; a module missing there is handed
    out first (unknown), a name left there after its module went is dead weight."""
    from conftest import MODULE_SECONDS

    modules = {p.stem for p in (ROOT / "tests").rglob("test_*.py")}
    assert set(MODULE_SECONDS) == modules, (sorted(modules - set(MODULE_SECONDS)), sorted(set(MODULE_SECONDS) - modules))
