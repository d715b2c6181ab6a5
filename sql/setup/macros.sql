-- Building blocks the GX suites (expectations/*.json) and the models call by name.
-- They implement formats and algorithms; which rule applies where lives in the suites.

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

-- Wilson score interval, z = 1.959963984540054, no continuity correction.
CREATE OR REPLACE MACRO wilson_low(x, n) AS
    CASE WHEN n > 0 THEN
        ((x / n) + 1.959963984540054 ^ 2 / (2 * n)
         - 1.959963984540054 * sqrt((x / n) * (1 - x / n) / n + 1.959963984540054 ^ 2 / (4 * n * n)))
        / (1 + 1.959963984540054 ^ 2 / n) END;
CREATE OR REPLACE MACRO wilson_high(x, n) AS
    CASE WHEN n > 0 THEN
        ((x / n) + 1.959963984540054 ^ 2 / (2 * n)
         + 1.959963984540054 * sqrt((x / n) * (1 - x / n) / n + 1.959963984540054 ^ 2 / (4 * n * n)))
        / (1 + 1.959963984540054 ^ 2 / n) END;
