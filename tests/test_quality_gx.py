"""The rule book: GX evaluates every suite on DuckDB, and the row-level quarantine agrees with it."""

import json
from pathlib import Path

import duckdb
import pytest

from assets.quality.gate import batch_view, open_batch
from assets.quality.gx_duckdb import validate_table
from assets.quality.rulebook import reason_codes, rules, suite_json
from landing_builders import CTPAT_DEFECTS, ENTRY_DEFECTS, EXAM_DEFECTS

CONTRACT_ORDER = {
    "entries": ["bad_entry_number", "bad_check_digit", "unknown_entry_type", "bad_importer_number", "unknown_port",
                "unknown_mode", "bad_lane_type", "bad_carrier_code", "bad_country", "bad_hts_number", "bad_value",
                "timestamp_without_offset", "bad_timestamp", "release_before_arrival"],
    "exams": ["bad_exam_id", "bad_entry_number", "bad_check_digit", "unknown_exam_type", "unknown_exam_location",
              "timestamp_without_offset", "bad_timestamp", "started_before_selected", "completed_without_start",
              "completed_before_started", "unknown_outcome"],
    "ctpat": ["unknown_partner_type", "unknown_status", "bad_tier", "bad_date", "overlapping_interval"],
}


@pytest.mark.parametrize("source", sorted(CONTRACT_ORDER))
def test_suites_follow_the_contracts_closed_list_in_order(source):
    assert reason_codes(source) == CONTRACT_ORDER[source]
    spec = json.loads((Path(__file__).parent.parent / "expectations" / f"{source}.json").read_text())
    assert all(e["meta"].get("rule") for e in spec["expectations"])
    assert suite_json(source)["meta"].get("file_policy") == ("all_or_nothing" if source == "ctpat" else None)


def _ingest(paths, source, rows):
    from assets.ingest.register import ingest_source
    from assets.resources import Warehouse
    from landing_builders import write_csv

    write_csv(paths.landing / source / f"{source}.csv", rows)
    warehouse = Warehouse(path=str(paths.warehouse))
    with warehouse.session() as con:
        con.execute("CREATE OR REPLACE TABLE ref.schedule_d_ports AS SELECT * FROM read_csv(?, all_varchar = true)",
                    [str(Path(__file__).parent.parent / "assets" / "reference" / "schedule_d_ports.csv")])
        ingest_source(con, source, paths.landing / source)
        assert open_batch(con, source) == len(rows)


@pytest.mark.parametrize("source, defects", [("entries", ENTRY_DEFECTS), ("exams", EXAM_DEFECTS), ("ctpat", CTPAT_DEFECTS)])
def test_gx_counts_equal_the_rows_each_expectation_selects(paths, source, defects):
    """GX's unexpected count of every expectation equals the rows the quarantine derives from it."""
    _ingest(paths, source, list(defects.values()))
    outcomes = validate_table(paths.warehouse, "main", batch_view(source), source)
    assert [o.error for o in outcomes] == [None] * len(outcomes)
    assert [o.reason_code for o in outcomes] == [r.reason_code for r in rules(source)]
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        for outcome, rule in zip(outcomes, rules(source)):
            derived = con.execute(f"SELECT count(*) FROM ({rule.unexpected_rows_sql('main.' + batch_view(source))})").fetchone()[0]
            assert outcome.unexpected_count == derived, (rule.reason_code, rule.type)
            assert outcome.success == (derived == 0)
    # Every defect row is unexpected to at least the expectation of its own code.
    hit = {o.reason_code for o in outcomes if o.unexpected_count}
    assert set(defects) <= hit
