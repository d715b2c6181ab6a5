-- Warehouse layout, in the order data flows through it.
CREATE SCHEMA IF NOT EXISTS ref;       -- reference data copied from assets/reference
CREATE SCHEMA IF NOT EXISTS meta;      -- landing file register
CREATE SCHEMA IF NOT EXISTS raw;       -- rows exactly as delivered, all text
CREATE SCHEMA IF NOT EXISTS quality;   -- quarantine of rejected rows, validation results
CREATE SCHEMA IF NOT EXISTS staging;   -- current valid rows, typed and normalised
CREATE SCHEMA IF NOT EXISTS facts;     -- entries and exams with point-in-time CTPAT status
CREATE SCHEMA IF NOT EXISTS month_marts; -- month-grain marts, rebuilt per month partition, copied to the analyst file
CREATE SCHEMA IF NOT EXISTS scorecard; -- CTPAT benefit estimates computed from the facts

CREATE SEQUENCE IF NOT EXISTS meta.file_id_seq START 1;

-- One row per delivery: a (content hash, file name) pair seen in the landing zone.
CREATE TABLE IF NOT EXISTS meta.files (
    file_id      BIGINT PRIMARY KEY,
    source       VARCHAR NOT NULL,
    file_name    VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    -- ingested (raw rows stored, not validated yet), loaded, duplicate, failed, blocked
    status       VARCHAR NOT NULL,
    message      VARCHAR,
    rows_read    BIGINT NOT NULL DEFAULT 0,
    rows_rejected BIGINT NOT NULL DEFAULT 0,
    accepted     BOOLEAN NOT NULL DEFAULT false,
    in_landing   BOOLEAN NOT NULL DEFAULT true,  -- still in the landing zone at the last scan
    file_size    BIGINT,   -- size and modification time when hashed: an unchanged file is not hashed again
    file_mtime_ns BIGINT,
    first_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (content_hash, file_name)
);

CREATE TABLE IF NOT EXISTS raw.entries (
    _file_id BIGINT, _row BIGINT, _rid BIGINT,
    entry_number VARCHAR, entry_type VARCHAR, importer_number VARCHAR, port_code VARCHAR,
    mode_of_transport VARCHAR, lane_type VARCHAR, carrier_code VARCHAR, country_of_origin VARCHAR,
    hts_number VARCHAR, entered_value_usd VARCHAR, arrival_at VARCHAR, release_at VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.exams (
    _file_id BIGINT, _row BIGINT, _rid BIGINT,
    exam_id VARCHAR, entry_number VARCHAR, exam_type VARCHAR, exam_location VARCHAR,
    selected_at VARCHAR, started_at VARCHAR, completed_at VARCHAR, outcome VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.ctpat (
    _file_id BIGINT, _row BIGINT, _rid BIGINT,
    partner_id VARCHAR, partner_type VARCHAR, status VARCHAR, tier VARCHAR,
    valid_from VARCHAR, valid_to VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.disruptions (
    _file_id BIGINT, _row BIGINT, _rid BIGINT,
    event_id VARCHAR, port_code VARCHAR, cause VARCHAR, closed_at VARCHAR, reopened_at VARCHAR, source VARCHAR
);

-- One row per port element x lane of a Border Wait Times snapshot, as published (all text).
CREATE TABLE IF NOT EXISTS raw.bwt (
    _file_id BIGINT, _row BIGINT, _rid BIGINT,  -- _rid identifies the port element: its lanes share it
    snapshot_date VARCHAR, snapshot_time VARCHAR,
    port_number VARCHAR, border VARCHAR, port_name VARCHAR, crossing_name VARCHAR, hours VARCHAR,
    "date" VARCHAR, "time" VARCHAR, port_status VARCHAR, construction_notice VARCHAR, automation_type VARCHAR,
    lane_group VARCHAR, lane VARCHAR, maximum_lanes VARCHAR, operational_status VARCHAR, update_time VARCHAR,
    delay_minutes VARCHAR, lanes_open VARCHAR,
    _snapshot_at TIMESTAMPTZ,  -- the document time as an instant (assets/ingest/bwt.py says how)
    _loaded_at TIMESTAMPTZ     -- when the file was read
);

-- Quarantine: every rejected row with its one reason code and the row as delivered.
CREATE TABLE IF NOT EXISTS quality.rejected_rows (
    _file_id BIGINT NOT NULL,
    _rid     BIGINT,             -- NULL for a malformed line, which never became a row
    line     BIGINT,             -- line number in the file, where known
    reason_code VARCHAR NOT NULL,
    record   VARCHAR NOT NULL    -- the row as delivered (JSON) or the broken line's text
);

-- Columns added after the first release (a warehouse made before them gains them here).
ALTER TABLE meta.files ADD COLUMN IF NOT EXISTS file_size BIGINT;
ALTER TABLE meta.files ADD COLUMN IF NOT EXISTS file_mtime_ns BIGINT;
ALTER TABLE meta.files ADD COLUMN IF NOT EXISTS staged BOOLEAN DEFAULT false;        -- rows merged into staging
ALTER TABLE meta.files ADD COLUMN IF NOT EXISTS exams_rejoined BOOLEAN DEFAULT false; -- entries file: its exams placed in its months
-- change time and inode when hashed: new content copied with its old size and mtime (cp -p) still shows
ALTER TABLE meta.files ADD COLUMN IF NOT EXISTS file_ctime_ns BIGINT;
ALTER TABLE meta.files ADD COLUMN IF NOT EXISTS file_inode BIGINT;

-- Entries files merged into staging since their exams last followed them (bookkeeping/stg_exams_rejoin.sql).
CREATE OR REPLACE VIEW meta.entries_files_to_rejoin AS
    SELECT file_id FROM meta.files WHERE source = 'entries' AND staged AND NOT exams_rejoined;

-- Local months whose facts and marts must be rebuilt: opened by staging (new rows, the rows they
-- replace, a CTPAT export that changes a status), closed when the month partition is rebuilt.
CREATE TABLE IF NOT EXISTS meta.open_months (
    month     VARCHAR PRIMARY KEY,  -- YYYY-MM, a partition key
    reason    VARCHAR NOT NULL,     -- what opened it first: entries, exams, ctpat or disruptions
    opened_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Months rebuilt but not yet in a publication: their scorecard rows are recomputed and they are
-- listed in the next publication (marts.published_runs.months_rebuilt), whose charts and reports
-- are then redrawn. rebuilt_at tells one rebuild of a month from the next: a publication forgets a
-- month only if it holds that month's latest rebuild, and the reports record the rebuild they drew.
CREATE TABLE IF NOT EXISTS meta.unpublished_months (month VARCHAR PRIMARY KEY, rebuilt_at TIMESTAMPTZ);
-- Warehouses made before rebuilt_at: their waiting months count as rebuilt at an unknown time (NULL).
ALTER TABLE meta.unpublished_months ADD COLUMN IF NOT EXISTS rebuilt_at TIMESTAMPTZ;

-- The digest of the scorecard's code its stored rows were estimated by (assets/scorecard/assets.py):
-- rows estimated by other code are all estimated again, not only the months rebuilt.
CREATE TABLE IF NOT EXISTS meta.scorecard_estimated (
    digest       VARCHAR NOT NULL,  -- SHA-256 of assets/scorecard, sql/scorecard and the HTS sections
    estimated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The digest of this file and macros.sql as last applied (assets/resources.py Warehouse.session):
-- a session applies them again only when the code's digest differs.
CREATE TABLE IF NOT EXISTS meta.setup_applied (
    digest     VARCHAR NOT NULL,     -- SHA-256 of schemas.sql then macros.sql
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
