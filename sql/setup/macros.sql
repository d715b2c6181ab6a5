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

-- The valid rows of loaded files whose rows are not merged into staging yet (what staging reads).
CREATE OR REPLACE MACRO valid_unstaged_rows(raw_table) AS TABLE
    SELECT * FROM valid_loaded_rows(raw_table)
    WHERE _file_id IN (SELECT file_id FROM meta.files WHERE NOT staged);

-- Entry number: FFF-NNNNNNN-C or FFFNNNNNNNC (filer code letters/digits, 7-digit serial, check digit).
CREATE OR REPLACE MACRO entry_number_format_ok(s) AS
    regexp_full_match(s, '[A-Z0-9]{3}-[0-9]{7}-[0-9]|[A-Z0-9]{3}[0-9]{8}');

CREATE OR REPLACE MACRO entry_key(s) AS replace(s, '-', '');

-- CBP check digit of the 10 characters before it. A character's value: digits as such, A-I = 1-9,
-- J-R = 1-9, S-Z = 2-9; odd positions (1-based) count as they are, even ones doubled with their
-- digits added. Both looked up by the character's place in 0-9A-Z, position by position: a
-- per-character list_transform lambda cost 20 s at 10 M rows (macro arguments are inlined
-- wherever they appear, so each character is looked up once).
CREATE OR REPLACE MACRO cbp_value(c) AS
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5, 6, 7, 8, 9][instr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', c)];

CREATE OR REPLACE MACRO cbp_doubled_value(c) AS
    [0, 2, 4, 6, 8, 1, 3, 5, 7, 9, 2, 4, 6, 8, 1, 3, 5, 7, 9, 2, 4, 6, 8, 1, 3, 5, 7, 9, 4, 6, 8, 1, 3, 5, 7, 9][instr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', c)];

-- The check digit of characters 1-10 of s, where characters 4-10 sit `shift` places later (1 in
-- the dashed form FFF-NNNNNNN-C): the positions are read in place, no normalised copy is built.
CREATE OR REPLACE MACRO cbp_check_digit_at(s, shift) AS
    (10 - (cbp_value(s[1]) + cbp_doubled_value(s[2]) + cbp_value(s[3]) + cbp_doubled_value(s[4 + shift])
           + cbp_value(s[5 + shift]) + cbp_doubled_value(s[6 + shift]) + cbp_value(s[7 + shift])
           + cbp_doubled_value(s[8 + shift]) + cbp_value(s[9 + shift]) + cbp_doubled_value(s[10 + shift])) % 10) % 10;

CREATE OR REPLACE MACRO cbp_check_digit(base10) AS cbp_check_digit_at(base10, 0);

-- Total, like every macro a rule uses: the gate evaluates each rule on every row of a batch in one
-- scan (assets/quality/rulebook.py), not only on the rows an earlier conjunct lets through, so an
-- entry number such as '１２３...' (full-width digits) must give false or NULL, never a cast error.
CREATE OR REPLACE MACRO entry_number_check_digit_ok(s) AS
    cbp_check_digit_at(s, CAST(s[4] = '-' AS INTEGER)) = TRY_CAST(right(s, 1) AS INTEGER);

-- Importer of record: IRS number (EIN + 2-char suffix), CBP-assigned number, or SSN.
CREATE OR REPLACE MACRO importer_number_format_ok(s) AS
    regexp_full_match(s, '[0-9]{2}-[0-9]{7}[A-Z0-9]{2}|[0-9]{6}-[0-9]{5}|[0-9]{3}-[0-9]{2}-[0-9]{4}');

CREATE OR REPLACE MACRO non_negative_number_ok(s) AS
    regexp_full_match(s, '[0-9]+(\.[0-9]*)?|\.[0-9]+') ;

-- Timestamps: ISO date-time with Z or +HH:MM/-HH:MM; without an offset the instant is ambiguous.
CREATE OR REPLACE MACRO timestamp_without_offset(s) AS
    coalesce(regexp_full_match(s, '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?'), false);

-- The offset is at most 14:00 either way, minutes 00-59 (+24:00 or +99:99 is no offset at all).
CREATE OR REPLACE MACRO parse_timestamp(s) AS
    CASE WHEN regexp_full_match(s, '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)')
         THEN try_cast(s AS TIMESTAMPTZ) END;

-- A timestamp the contract accepts: a well-formed instant from 2000-01-01 to one day after its
-- file was loaded (`loaded_at`). Anything later or earlier is a typo or a corrupt extract, and
-- every month a valid row can fall in is a partition (assets/partitions.py).
CREATE OR REPLACE MACRO timestamp_ok(s, loaded_at) AS
    coalesce(parse_timestamp(s) BETWEEN TIMESTAMPTZ '2000-01-01 00:00:00+00' AND loaded_at + INTERVAL 1 DAY, false);

-- A timestamp of a row that passed the gate, typed for staging: the gate's bad_timestamp rule
-- already held it to parse_timestamp's form, and for text of that form the cast alone gives the
-- same instant, without the regular expression again (about 1.2 s of stg_entries' 12 s batch at
-- 10 M entries; docs/scaling-history.md, issue 15's sixteenth round). Not a test: text the gate
-- would reject may cast (a space for the T, no offset) or fail the statement.
CREATE OR REPLACE MACRO gated_timestamp(s) AS CAST(s AS TIMESTAMPTZ);

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

-- Business resumption (contract, definitions): an entry is caught by a port closure when it arrived
-- at or after closed_at minus 168 elapsed hours and strictly before reopened_at, and was not released
-- before closed_at. The caller matches the port. Its normal window: arrived in
-- [closed_at - 35 days, closed_at - 7 days), in elapsed hours (840 and 168).
CREATE OR REPLACE MACRO caught_by_closure(arrival_at, release_at, closed_at, reopened_at) AS
    arrival_at >= closed_at - INTERVAL 168 HOUR AND arrival_at < reopened_at
    AND (release_at IS NULL OR release_at >= closed_at);
CREATE OR REPLACE MACRO in_normal_window(arrival_at, closed_at) AS
    arrival_at >= closed_at - INTERVAL 840 HOUR AND arrival_at < closed_at - INTERVAL 168 HOUR;
