-- Building blocks the GX suites (expectations/*.json) and the models call by name.
-- They implement formats and algorithms; which rule applies where lives in the suites.

-- The raw rows that count: from loaded files, not in the quarantine (with their file name, which
-- orders corrections). Every staging model reads its source through this one definition.
CREATE OR REPLACE MACRO valid_loaded_rows(raw_table) AS TABLE
    SELECT r.*, f.file_name
    FROM query_table(raw_table) AS r
    JOIN meta.files AS f ON f.file_id = r._file_id AND f.status = 'loaded'
    ANTI JOIN quality.rejected_rows AS q ON q._rid = r._rid;

-- The certified intervals of importers in a CTPAT status history: certified or validated, as
-- [valid_from, valid_to). Outside them (suspended, removed, withdrawn, never a member) = UNCERTIFIED.
CREATE OR REPLACE MACRO certified_intervals(status_table) AS TABLE
    SELECT partner_id, tier, valid_from, valid_to
    FROM query_table(status_table)
    WHERE partner_type = 'IMPORTER' AND status IN ('CERTIFIED', 'VALIDATED');

-- Entry number: FFF-NNNNNNN-C or FFFNNNNNNNC (filer code letters/digits, 7-digit serial, check digit).
CREATE OR REPLACE MACRO entry_number_format_ok(s) AS
    regexp_full_match(s, '[A-Z0-9]{3}-[0-9]{7}-[0-9]|[A-Z0-9]{3}[0-9]{8}');

CREATE OR REPLACE MACRO entry_key(s) AS replace(s, '-', '');

-- CBP check-digit value of one character: digits as such, A-I = 1-9, J-R = 1-9, S-Z = 2-9.
CREATE OR REPLACE MACRO cbp_char_value(c) AS
    CASE WHEN c BETWEEN '0' AND '9' THEN ascii(c) - 48
         WHEN c BETWEEN 'A' AND 'I' THEN ascii(c) - 64
         WHEN c BETWEEN 'J' AND 'R' THEN ascii(c) - 73
         WHEN c BETWEEN 'S' AND 'Z' THEN ascii(c) - 81 END;

-- Odd positions (1-based) count as they are; even ones are doubled and their digits added.
CREATE OR REPLACE MACRO cbp_check_digit(base10) AS
    (10 - list_sum(list_transform(range(1, 11), lambda i:
        CASE WHEN i % 2 = 1 THEN cbp_char_value(base10[i])
             ELSE (2 * cbp_char_value(base10[i])) // 10 + (2 * cbp_char_value(base10[i])) % 10 END)) % 10) % 10;

CREATE OR REPLACE MACRO entry_number_check_digit_ok(s) AS
    cbp_check_digit(left(entry_key(s), 10)) = CAST(right(s, 1) AS INTEGER);

-- Importer of record: IRS number (EIN + 2-char suffix), CBP-assigned number, or SSN.
CREATE OR REPLACE MACRO importer_number_format_ok(s) AS
    regexp_full_match(s, '[0-9]{2}-[0-9]{7}[A-Z0-9]{2}|[0-9]{6}-[0-9]{5}|[0-9]{3}-[0-9]{2}-[0-9]{4}');

CREATE OR REPLACE MACRO non_negative_number_ok(s) AS
    regexp_full_match(s, '[0-9]+(\.[0-9]*)?|\.[0-9]+') ;

-- Timestamps: ISO date-time with Z or +HH:MM/-HH:MM; without an offset the instant is ambiguous.
CREATE OR REPLACE MACRO timestamp_without_offset(s) AS
    coalesce(regexp_full_match(s, '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?'), false);

CREATE OR REPLACE MACRO parse_timestamp(s) AS
    CASE WHEN regexp_full_match(s, '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})')
         THEN try_cast(s AS TIMESTAMPTZ) END;

CREATE OR REPLACE MACRO parse_date(s) AS
    CASE WHEN regexp_full_match(s, '[0-9]{4}-[0-9]{2}-[0-9]{2}') THEN try_cast(s AS DATE) END;

-- Exact elapsed hours between two instants.
CREATE OR REPLACE MACRO hours_between(earlier, later) AS
    (epoch_us(later) - epoch_us(earlier)) / 3600e6;

-- Mean elapsed hours from an exact integer sum of microseconds: a float avg() would depend on
-- the order threads add up in, and a re-run must reproduce the marts exactly.
CREATE OR REPLACE MACRO mean_hours(earlier, later) AS
    CAST(sum(CAST(epoch_us(later) - epoch_us(earlier) AS HUGEINT)) AS DOUBLE) / count(later - earlier) / 3600e6;

-- Wilson score interval, z = 1.959963984540054, no continuity correction. The bounds lie in [0, 1];
-- greatest/least only keep float rounding (x = 0 gives -1e-17) from crossing them.
CREATE OR REPLACE MACRO wilson_low(x, n) AS
    CASE WHEN n > 0 THEN greatest(0.0,
        ((x / n) + 1.959963984540054 ^ 2 / (2 * n)
         - 1.959963984540054 * sqrt((x / n) * (1 - x / n) / n + 1.959963984540054 ^ 2 / (4 * n * n)))
        / (1 + 1.959963984540054 ^ 2 / n)) END;
CREATE OR REPLACE MACRO wilson_high(x, n) AS
    CASE WHEN n > 0 THEN least(1.0,
        ((x / n) + 1.959963984540054 ^ 2 / (2 * n)
         + 1.959963984540054 * sqrt((x / n) * (1 - x / n) / n + 1.959963984540054 ^ 2 / (4 * n * n)))
        / (1 + 1.959963984540054 ^ 2 / n)) END;

-- Border Wait Times text values. Empty elements (XML) and "" (JSON) are missing values.
CREATE OR REPLACE MACRO blank_as_null(s) AS CASE WHEN trim(s) = '' THEN NULL ELSE s END;

-- Delay: whole minutes ("11"), or the older "1 hrs 35 min" / "2 hrs" / "35 min" form.
CREATE OR REPLACE MACRO bwt_delay_minutes(s) AS
    CASE WHEN regexp_full_match(s, '[0-9]+') THEN try_cast(s AS INTEGER)
         WHEN regexp_full_match(s, '[0-9]+ hrs?( [0-9]+ mins?)?|[0-9]+ mins?') THEN
              coalesce(try_cast(nullif(regexp_extract(s, '([0-9]+) hr', 1), '') AS INTEGER), 0) * 60
            + coalesce(try_cast(nullif(regexp_extract(s, '([0-9]+) min', 1), '') AS INTEGER), 0) END;

-- "At 8:07 pm EDT", "At Noon PDT", "At Midnight EST": the local clock time, without a date.
CREATE OR REPLACE MACRO bwt_update_clock(s) AS
    CASE WHEN regexp_full_match(s, 'At (1[0-2]|[1-9]):[0-5][0-9] (am|pm) (EDT|EST|CDT|CST|MDT|MST|PDT|PST|AKDT|AKST|HST)')
         THEN make_time(CAST(regexp_extract(s, 'At ([0-9]+):', 1) AS INTEGER) % 12
                        + CASE WHEN s LIKE '% pm %' THEN 12 ELSE 0 END,
                        CAST(regexp_extract(s, ':([0-9]{2}) ', 1) AS INTEGER), 0)
         WHEN regexp_full_match(s, 'At Noon (EDT|EST|CDT|CST|MDT|MST|PDT|PST|AKDT|AKST|HST)') THEN TIME '12:00:00'
         WHEN regexp_full_match(s, 'At Midnight (EDT|EST|CDT|CST|MDT|MST|PDT|PST|AKDT|AKST|HST)') THEN TIME '00:00:00' END;

-- UTC offset in hours that a US zone abbreviation states (a hint: the feed sometimes gets it wrong).
CREATE OR REPLACE MACRO zone_abbreviation_offset(abbreviation) AS
    CASE abbreviation WHEN 'EDT' THEN -4 WHEN 'EST' THEN -5 WHEN 'CDT' THEN -5 WHEN 'CST' THEN -6
                      WHEN 'MDT' THEN -6 WHEN 'MST' THEN -7 WHEN 'PDT' THEN -7 WHEN 'PST' THEN -8
                      WHEN 'AKDT' THEN -8 WHEN 'AKST' THEN -9 WHEN 'HST' THEN -10 END;

-- The port's date in the feed: M/D/YYYY.
CREATE OR REPLACE MACRO bwt_port_date(s) AS CAST(try_strptime(s, '%m/%d/%Y') AS DATE);
