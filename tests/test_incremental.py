"""Month partitions: a new month, a late exam and a new CTPAT export each rebuild exactly the local
months they touch, process only those months' rows, and publish what a one-shot load publishes."""

import shutil

import dagster as dg
import duckdb
import polars as pl
import pytest

from conftest import Paths, analytics_tables
from independent import entries_and_exams
from landing_builders import write_csv
from pipelines.sample_data import generate
from test_end_to_end import check_against_independent

from assets.partitions import run_months

NEW_MONTH = ["entries_2026-04.csv", "exams_2026-04.csv"]


@pytest.fixture(scope="module")
def delivery(tmp_path_factory):
    root = tmp_path_factory.mktemp("months") / "landing"
    generate(root, entries=8000, seed=21, formats="csv", start="2026-01", months=4)
    return root


def rebuilt_months(outcome) -> list[str]:
    return sorted(m for r in outcome.runs for m in (run_months(r.dagster_run.tags) or []))


def metadata(outcome, asset: str, field: str):
    """The value an asset reported (a range run reports it once per month, all equal)."""
    values = {m.metadata[field].value for r in outcome.runs for m in r.asset_materializations_for_node(asset)}
    assert len(values) == 1, (asset, values)
    return values.pop()


def months_of(entries: pl.DataFrame, keys: pl.Series) -> set[str]:
    return set(entries.filter(pl.col("key").is_in(keys.str.replace_all("-", "").implode()))["month"])


def write_late_exam(landing, entries: pl.DataFrame, month: str) -> None:
    """A selected exam, in a file of its own, for an entry of `month` that had none."""
    exams = pl.read_csv(landing / "exams" / f"exams_{month}.csv", infer_schema=False)
    examined = set(exams["entry_number"].str.replace_all("-", ""))
    target = entries.filter((pl.col("month") == month) & ~pl.col("key").is_in(list(examined))).row(0, named=True)
    write_csv(landing / "exams" / f"exams_{month}-late.csv",
              [{**exams.row(0, named=True), "exam_id": "LATE-0001", "entry_number": target["entry_number"],
                "selected_at": target["arrival_at"], "started_at": "", "completed_at": "", "outcome": ""}],
              columns=list(exams.columns))


@pytest.mark.slow
def test_new_month_late_exam_and_ctpat_export_rebuild_only_their_months(delivery, paths, tmp_path):
    for source in ("entries", "exams", "ctpat", "bwt"):
        shutil.copytree(delivery / source, paths.landing / source, dirs_exist_ok=True)
    for name in NEW_MONTH:
        (paths.landing / name.split("_")[0] / name).unlink()
    # Drawn only where the test reads the drawings: the late exam's run redraws January alone, against
    # the reports the second run drew for every month (the first run's months wait for it).
    first = paths.run(draw=False)
    assert first.exit_code == 0, first.message
    loaded, _, _ = entries_and_exams(paths.landing)
    assert rebuilt_months(first) == sorted(set(loaded["month"]))  # every month, as one range
    assert len(first.runs) == 2  # ingest, then the range of months with the publication

    # A new month arrives: only the local months of its entries and of its exams' entries are rebuilt.
    for name in NEW_MONTH:
        shutil.copy(delivery / name.split("_")[0] / name, paths.landing / name.split("_")[0] / name)
    new_entries = pl.read_csv(paths.landing / "entries" / NEW_MONTH[0], infer_schema=False)
    new_exams = pl.read_csv(paths.landing / "exams" / NEW_MONTH[1], infer_schema=False)
    second = paths.run()
    assert second.exit_code == 0, second.message
    entries, _, _ = entries_and_exams(paths.landing)
    touched = months_of(entries, new_entries["entry_number"]) | months_of(entries, new_exams["entry_number"])
    assert rebuilt_months(second) == sorted(touched)
    # Rows processed: the gate validated the new files only, staging merged only their rows, and the
    # facts were rebuilt from the touched months' entries alone.
    assert metadata(second, "checked_entries", "rows_checked") == new_entries.height
    assert metadata(second, "checked_exams", "rows_checked") == new_exams.height
    assert metadata(second, "stg_entries", "rows_in_batch") <= new_entries.height
    assert metadata(second, "fct_entries", "rows") == entries.filter(pl.col("month").is_in(sorted(touched))).height
    assert len(touched) < len(set(entries["month"]))  # (the new month, and the one before it through its exams)

    # A late exam for an entry of January re-opens January alone.
    write_late_exam(paths.landing, entries, "2026-01")
    drawn = {p: p.stat().st_mtime_ns for p in [*paths.reports.glob("20*/*.*"), *paths.reports.glob("border_waits/*")]}
    late = paths.run()
    assert late.exit_code == 0, late.message
    assert rebuilt_months(late) == ["2026-01"]
    # Only January's charts and report were redrawn: not the border-wait charts, whose readings are the same.
    assert {p.parent.name for p, t in drawn.items() if p.stat().st_mtime_ns != t} == {"2026-01"}
    border = [m for r in late.runs for m in r.asset_materializations_for_node("charts_and_reports")
              if m.asset_key == dg.AssetKey("border_wait_charts")]
    assert [m.metadata["redrawn"].value for m in border] == [False]

    # A new CTPAT export that withdraws one certified importer re-opens exactly the months where
    # that importer's entries were certified.
    entries, _, _ = entries_and_exams(paths.landing)
    busiest = (entries.filter(pl.col("ctpat_status") == "CERTIFIED").group_by("importer_number").len()
               .sort("len", "importer_number").row(0, named=True)["importer_number"])
    expected = set(entries.filter((pl.col("importer_number") == busiest) & (pl.col("ctpat_status") == "CERTIFIED"))["month"])
    export = sorted((paths.landing / "ctpat").iterdir())[-1]
    history = pl.read_csv(export, infer_schema=False).filter(pl.col("partner_id") != busiest)
    history.write_csv(paths.landing / "ctpat" / "ctpat_export_2026-05-02.csv")
    status = paths.run(draw=False)
    assert status.exit_code == 0, status.message
    assert rebuilt_months(status) == sorted(expected)

    # What was built month by month is what a one-shot load of the same files builds.
    check_against_independent(paths)
    once = Paths(tmp_path / "once")
    shutil.copytree(paths.landing, once.landing)
    assert once.run(draw=False).exit_code == 0
    assert analytics_tables(paths.analytics) == analytics_tables(once.analytics)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM meta.open_months").fetchall()[0][0] == 0


def test_nothing_new_rebuilds_no_month(delivery, paths):
    shutil.copytree(delivery, paths.landing, dirs_exist_ok=True)
    assert paths.run(draw=False).exit_code == 0
    again = paths.run(draw=False)
    assert again.exit_code == 0, again.message
    assert rebuilt_months(again) == []
    assert metadata(again, "stg_entries", "rows_in_batch") == 0


def test_a_run_without_reports_leaves_the_months_it_rebuilt_to_the_next_run_that_draws(paths):
    generate(paths.landing, entries=2000, seed=23, formats="csv", start="2026-01", months=2, bad_share=0.0)
    assert paths.run().exit_code == 0
    reports = {m: paths.reports / m / f"ctpat_report_{m}.pdf" for m in ("2026-01", "2026-02")}
    drawn = {m: p.stat().st_mtime_ns for m, p in reports.items()}
    entries, _, _ = entries_and_exams(paths.landing)
    write_late_exam(paths.landing, entries, "2026-01")

    # Published without drawing: the marts count the exam, no drawing asset ran, January's report waits.
    late = paths.run(draw=False)
    assert late.exit_code == 0, late.message
    assert rebuilt_months(late) == ["2026-01"]
    assert "not drawn (--no-reports): the charts and reports of 2026-01 wait" in late.message
    materialized = {e.asset_key.to_user_string() for r in late.runs for e in r.get_asset_materialization_events()}
    assert "publication" in materialized and not materialized & {"monthly_report", "border_wait_charts"}
    assert {m: p.stat().st_mtime_ns for m, p in reports.items()} == drawn
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        examined = con.execute("SELECT sum(examined_entries) FROM marts.exam_rates WHERE month = '2026-01'").fetchone()[0]
    assert examined == entries_and_exams(paths.landing)[0].filter(
        (pl.col("month") == "2026-01") & pl.col("examined")).height

    # The next run, with nothing new, draws January (and only January).
    again = paths.run()
    assert again.exit_code == 0, again.message
    assert rebuilt_months(again) == [] and "not drawn" not in again.message
    assert reports["2026-01"].stat().st_mtime_ns != drawn["2026-01"]
    assert reports["2026-02"].stat().st_mtime_ns == drawn["2026-02"]


def _analyst_file(path, publications: list[tuple[str, int, dict[str, str] | None]], months: list[str]):
    """An analyst file holding the publications (run id, minute published, month -> rebuild; None:
    a publication made before month_rebuilds, which names only months_rebuilt) and exam rates for `months`."""
    import json

    with duckdb.connect(str(path)) as doc:
        doc.execute("CREATE SCHEMA marts; CREATE TABLE marts.published_runs (run_id VARCHAR, published_at TIMESTAMPTZ, "
                    "input_files JSON, code_version VARCHAR, months_rebuilt JSON, month_rebuilds JSON)")
        for run_id, minute, rebuilds in publications:
            doc.execute("INSERT INTO marts.published_runs VALUES (?, TIMESTAMPTZ '2026-12-01 00:00Z' + to_minutes(?), "
                        "'[]', 'test', ?, ?)", [run_id, minute, json.dumps(sorted(rebuilds or months)),
                                                None if rebuilds is None else json.dumps(rebuilds)])
        doc.execute("CREATE TABLE marts.exam_rates AS SELECT unnest(?::VARCHAR[]) AS month", [months])


def test_a_month_is_redrawn_only_for_a_rebuild_its_reports_do_not_hold(tmp_path):
    """Concurrent runs of a backfill each build an analyst file listing every month rebuilt and not yet
    published: a month that another run's publication already drew from the same rebuild is not drawn
    again; a month rebuilt since is. The reports folder's marker records each month's rebuild."""
    import json

    from assets.reports.assets import REPORTS_MARKER, mark_drawn, months_waiting

    months = ["2026-01", "2026-02", "2026-03"]
    reports = tmp_path / "reports"
    first = {"2026-01": "10", "2026-02": "20", "2026-03": "30"}
    _analyst_file(tmp_path / "a.duckdb", [("a", 1, first)], months)
    assert months_waiting(tmp_path / "a.duckdb", reports) == (months, first)  # nothing drawn yet: every month
    mark_drawn(reports / REPORTS_MARKER, first)

    # Built while "a" was unpublished: it lists all three months; only March was rebuilt since.
    later = {**first, "2026-03": "31"}
    _analyst_file(tmp_path / "b.duckdb", [("b", 2, later)], months)
    assert months_waiting(tmp_path / "b.duckdb", reports) == (["2026-03"], later)
    _analyst_file(tmp_path / "c.duckdb", [("a", 1, first), ("c", 3, {"2026-02": "20"})], months)
    assert months_waiting(tmp_path / "c.duckdb", reports) == ([], first)

    # A marker written before month rebuilds lists the publications drawn; publications before
    # month_rebuilds stand for their months' rebuild.
    _analyst_file(tmp_path / "d.duckdb", [("old", 1, None), ("e", 2, {"2026-02": "21"})], months)
    (reports / REPORTS_MARKER).write_text(json.dumps(["old"]))
    assert months_waiting(tmp_path / "d.duckdb", reports) == (
        ["2026-02"], {"2026-01": "run old", "2026-02": "21", "2026-03": "run old"})
    # An analyst file published before the column (a redraw from the UI reads the published file).
    with duckdb.connect(str(tmp_path / "d.duckdb")) as doc:
        doc.execute("DELETE FROM marts.published_runs WHERE run_id = 'e'; ALTER TABLE marts.published_runs DROP month_rebuilds")
    assert months_waiting(tmp_path / "d.duckdb", reports) == ([], {"2026-01": "run old", "2026-02": "run old",
                                                                    "2026-03": "run old"})
