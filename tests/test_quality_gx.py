"""The rule book: GX evaluates every suite on DuckDB, and the row-level quarantine agrees with it."""

import json
from pathlib import Path

import duckdb
import pytest

from assets.quality.gate import batch_view, flag_batch, flags_table, open_batch
from assets.quality.gx_duckdb import validate_flags, validate_table
from assets.quality.rulebook import first_reason_sql, flag_column, reason_codes, rules, suite_json
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
    """GX's unexpected count of every expectation, run as written on the batch rows, equals the rows
    the quarantine derives from it; the one-pass flags (what the gate runs) flag exactly those rows,
    and GX's check of the flags table reports the same counts."""
    _ingest(paths, source, list(defects.values()))
    outcomes = validate_table(paths.warehouse, "main", batch_view(source), source)
    assert [o.error for o in outcomes] == [None] * len(outcomes)
    assert [o.reason_code for o in outcomes] == [r.reason_code for r in rules(source)]
    with duckdb.connect(str(paths.warehouse)) as con:
        flag_batch(con, source)
        batch = "main." + batch_view(source)
        for outcome, rule in zip(outcomes, rules(source)):
            derived = con.execute(f"SELECT _file_id, _row FROM ({rule.unexpected_rows_sql(batch)}) ORDER BY ALL").fetchall()
            flagged = con.execute(f"SELECT _file_id, _row FROM main.{flags_table(source)} WHERE {flag_column(rule)} "
                                  "ORDER BY ALL").fetchall()
            assert outcome.unexpected_count == len(derived), (rule.reason_code, rule.type)
            assert flagged == derived, (rule.reason_code, rule.type)
            assert outcome.success == (not derived)
        first = dict(con.execute(f"SELECT _rid, reason_code FROM ({first_reason_sql(source, 'main.' + flags_table(source))})").fetchall())
        union = "\nUNION ALL\n".join(f"SELECT _rid, {r.position} AS position FROM ({r.unexpected_rows_sql(batch)})"
                                      for r in rules(source))
        expected = dict(con.execute(f"SELECT _rid, min(position) FROM ({union}) GROUP BY _rid").fetchall())
        assert first == {rid: rules(source)[p].reason_code for rid, p in expected.items()}
    verdict = lambda o: (o.position, o.reason_code, o.type, o.success, o.unexpected_count, o.error)  # noqa: E731
    assert [verdict(o) for o in validate_flags(paths.warehouse, flags_table(source), source)] == \
        [verdict(o) for o in outcomes]  # element_count: unexpected_rows_expectation reports none
    # Every defect row is unexpected to at least the expectation of its own code.
    hit = {o.reason_code for o in outcomes if o.unexpected_count}
    assert set(defects) <= hit
