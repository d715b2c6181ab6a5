"""Unit tests of the formats, algorithms and definitions the rules and models use (sql/setup/macros.sql)."""

import numpy as np
import pytest

from pipelines.sample_data import check_digits


def one(con, sql, *params):
    return con.execute(sql, list(params)).fetchone()[0]


@pytest.mark.parametrize("number, ok", [
    ("ABC-1234567-6", True), ("ABC12345676", True),  # the contract's example, both dash forms
    ("ABC-1234567-5", False), ("ABC12345675", False),
    ("JRS-0000001-?", None), ("Z9Z-7654321-7", True), ("Z9Z76543217", True),
])
def test_entry_number_check_digit(macros, number, ok):
    if ok is None:
        assert one(macros, "SELECT entry_number_format_ok(?)", number) is False
        return
    assert one(macros, "SELECT entry_number_format_ok(?)", number) is True
    assert one(macros, "SELECT entry_number_check_digit_ok(?)", number) is ok


def test_check_digit_letters_map_as_cbp_says(macros):
    # A-I = 1-9, J-R = 1-9, S-Z = 2-9: J and A weigh the same, as do S and B.
    assert one(macros, "SELECT cbp_check_digit('JBC1234567')") == one(macros, "SELECT cbp_check_digit('ABC1234567')") == 6
    assert one(macros, "SELECT cbp_check_digit('ASC1234567')") == 6
    # Hand computed: 0,0,0 | 0,0,0,0,0,0,1 -> position 10 doubled = 2 -> (10 - 2) % 10 = 8
    assert one(macros, "SELECT cbp_check_digit('0000000001')") == 8
    # position 9 counts as it is: 1 -> 9
    assert one(macros, "SELECT cbp_check_digit('0000000010')") == 9


def test_generator_and_sql_check_digits_agree(macros):
    rng = np.random.default_rng(1)
    alphabet = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", dtype=np.uint8)
    filer = alphabet[rng.integers(0, 36, (500, 3))]
    serial = np.frombuffer(b"0123456789", dtype=np.uint8)[rng.integers(0, 10, (500, 7))]
    base = np.concatenate([filer, serial], axis=1)
    numpy_digits = check_digits(base)
    texts = [bytes(row).decode() for row in base]
    sql_digits = [r[0] for r in macros.execute(
        "SELECT cbp_check_digit(b) FROM unnest(?) WITH ORDINALITY AS t(b, i) ORDER BY i", [texts]).fetchall()]
    assert sql_digits == numpy_digits.tolist()


@pytest.mark.parametrize("number, ok", [
    ("12-3456789AB", True), ("12-345678901", True), ("12-3456789ab", False),  # IRS number + suffix
    ("260115-12345", True), ("26011512345", False),  # CBP-assigned YYDDPP-NNNNN
    ("123-45-6789", True), ("123456789", False), ("123-45-678", False),  # SSN
    (" 12-3456789AB", False),  # values are taken as they are: no trimming
])
def test_importer_number_forms(macros, number, ok):
    assert one(macros, "SELECT importer_number_format_ok(?)", number) is ok


@pytest.mark.parametrize("text, without_offset, instant", [
    ("2026-03-08T01:23:45-05:00", False, "2026-03-08 06:23:45+00"),
    ("2026-03-08T01:23:45.250Z", False, "2026-03-08 01:23:45.25+00"),
    ("2026-03-08T01:23:45", True, None),
    ("2026-03-08T01:23:45.5", True, None),
    ("2026-03-08 01:23:45Z", False, None),  # a space is not the contract's form
    ("2026-02-30T00:00:00Z", False, None),  # not a real date
    ("2026-03-08T01:23:45+0500", False, None),
])
def test_timestamps(macros, text, without_offset, instant):
    assert one(macros, "SELECT timestamp_without_offset(?)", text) is without_offset
    parsed = one(macros, "SELECT CAST(parse_timestamp(?) AS VARCHAR)", text)
    assert parsed == instant


@pytest.mark.parametrize("zone", ["UTC", "America/Phoenix", "Asia/Kolkata"])
@pytest.mark.parametrize("text", [
    "2026-03-08T01:23:45-05:00", "2026-03-08T01:23:45.250Z", "2026-03-08T01:23:45.123456789+05:30",
    "2000-01-01T00:00:00+14:00", "2024-02-29T23:59:59-13:59", "2026-11-01T01:30:00-00:30",
    "2026-03-08T02:30:00-06:00",  # a wall time that does not exist in Chicago; the offset decides
])
def test_staging_types_gated_timestamps_as_the_gate_parsed_them(macros, zone, text):
    # Staging casts a timestamp without parse_timestamp's form test again (gated_timestamp): for
    # every text the gate accepts, whatever the session's zone, the cast gives the gate's instant.
    macros.execute(f"SET TimeZone = '{zone}'")
    try:
        gate, staging = macros.execute("SELECT parse_timestamp(?), gated_timestamp(?)", [text, text]).fetchone()
    finally:
        macros.execute("SET TimeZone = 'UTC'")
    assert gate is not None and staging == gate


def _load_entry(con, port, arrival):
    con.execute("INSERT INTO meta.files (file_id, source, file_name, content_hash, status) "
                "VALUES (1, 'entries', 'f.csv', 'h', 'loaded') ON CONFLICT DO NOTHING")
    n = one(con, "SELECT count(*) FROM raw.entries") + 1
    con.execute("INSERT INTO raw.entries VALUES (1, ?, ?, ?, '01', '12-3456789AB', ?, '30', NULL, NULL, 'MX', "
                "'8471300100', '1.00', ?, NULL)", [n, n, f"AAA-{n:07d}-0", port, arrival])


@pytest.mark.parametrize("port, arrival, month, local_date", [
    # Nogales (America/Phoenix) keeps no DST: UTC-7 all year.
    ("2604", "2026-07-01T06:30:00Z", "2026-06", "2026-06-30"),
    ("2604", "2026-04-01T06:59:59Z", "2026-03", "2026-03-31"),
    ("2604", "2026-04-01T07:00:00Z", "2026-04", "2026-04-01"),
    # Otay Mesa (America/Los_Angeles) does: UTC-7 in July, UTC-8 in January.
    ("2506", "2026-07-01T06:30:00Z", "2026-06", "2026-06-30"),
    ("2506", "2026-07-01T07:00:00Z", "2026-07", "2026-07-01"),
    ("2506", "2026-02-01T07:59:59Z", "2026-01", "2026-01-31"),
    # Laredo (America/Chicago) across the March DST change; the offset in the text does not matter.
    ("2304", "2026-03-31T23:30:00-05:00", "2026-03", "2026-03-31"),
    ("2304", "2026-04-01T04:30:00Z", "2026-03", "2026-03-31"),
    ("2304", "2026-04-01T05:00:00Z", "2026-04", "2026-04-01"),
    # New York at New Year
    ("4601", "2026-01-01T04:59:59Z", "2025-12", "2025-12-31"),
])
def test_local_month_follows_the_ports_zone(macros, port, arrival, month, local_date):
    from assets.resources import read_sql

    _load_entry(macros, port, arrival)
    row = macros.execute(f"SELECT month, CAST(arrival_local_date AS VARCHAR) FROM ({read_sql('staging/stg_entries.sql')})").fetchone()
    assert row == (month, local_date)


def test_point_in_time_status_across_a_suspension(macros):
    from assets.resources import read_sql

    con = macros
    con.execute("INSERT INTO meta.files (file_id, source, file_name, content_hash, status, rows_read) VALUES "
                "(1, 'entries', 'e.csv', 'a', 'loaded', 4), (2, 'ctpat', 'c.csv', 'b', 'loaded', 3)")
    con.executemany("INSERT INTO raw.ctpat VALUES (2, ?, ?, '12-3456789AB', 'IMPORTER', ?, ?, ?, ?)", [
        (1, 20_000_000_001, "CERTIFIED", "2", "2020-01-01", "2026-03-10"),
        (2, 20_000_000_002, "SUSPENDED", None, "2026-03-10", "2026-04-20"),
        (3, 20_000_000_003, "VALIDATED", "3", "2026-04-20", None)])
    arrivals = ["2026-03-09T23:59:00-05:00", "2026-03-10T00:00:00-05:00", "2026-04-19T23:00:00-05:00",
                "2026-04-20T00:30:00-05:00"]
    for i, a in enumerate(arrivals, 1):
        con.execute("INSERT INTO raw.entries VALUES (1, ?, ?, ?, '01', '12-3456789AB', '2304', '30', NULL, NULL, "
                    "'MX', '8471300100', '1.00', ?, NULL)", [i, 10_000_000_000 + i, f"AAA-{i:07d}-0", a])
    for model in ("stg_entries", "stg_exams", "stg_ctpat_status", "stg_disruptions"):
        con.execute(f"CREATE TABLE staging.{model} AS {read_sql(f'staging/{model}.sql')}")
    every_month = read_sql("facts/fct_entries.sql").format(first_month="0000-00", last_month="9999-99")
    con.execute(f"CREATE TABLE facts.fct_entries AS {every_month}")
    got = con.execute("SELECT ctpat_status, ctpat_tier FROM facts.fct_entries ORDER BY arrival_at").fetchall()
    # Laredo is UTC-6 in March after the DST change (8 March) and in April; local dates follow the port.
    assert got == [("CERTIFIED", 2), ("UNCERTIFIED", None), ("UNCERTIFIED", None), ("CERTIFIED", 3)]


def test_wilson_interval_matches_the_textbook_formula(macros):
    # Newcombe (1998), Stat Med 17:857, table I: 81 of 263 -> 0.2553 to 0.3662 (z = 1.96).
    low, high = macros.execute("SELECT wilson_low(81, 263), wilson_high(81, 263)").fetchone()
    assert round(low, 4) == 0.2553 and round(high, 4) == 0.3662
    low, high = macros.execute("SELECT wilson_low(0, 10), wilson_high(0, 10)").fetchone()
    assert low == 0 and abs(high - 0.27753279986288) < 1e-12


def test_hours_are_exact_elapsed_time(macros):
    assert one(macros, "SELECT hours_between(parse_timestamp('2026-03-08T01:30:00-06:00'), "
                       "parse_timestamp('2026-03-08T03:15:00-05:00'))") == pytest.approx(0.75, abs=1e-12)
