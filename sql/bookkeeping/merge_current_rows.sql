-- Merge the batch in temp table `incoming` into staging.{table} by {key}. A batch row replaces the
-- current row only if it is later in (file name, delivery, row) order, the order a full rebuild
-- would use. The months of the new rows and of the rows they replace are opened for rebuilding;
-- only the batch's keys are looked up, other months are not read.
CREATE OR REPLACE TEMP TABLE replaced AS
    SELECT s.* FROM staging.{table} AS s SEMI JOIN incoming AS i USING ({key});
DELETE FROM incoming AS i USING replaced AS r
    WHERE i.{key} = r.{key}
      AND (r._file_name, r._file_id, r._row) > (i._file_name, i._file_id, i._row);
INSERT INTO meta.open_months (month, reason)
    SELECT DISTINCT month, '{source}' FROM (
        SELECT month FROM incoming
        UNION ALL SELECT r.month FROM replaced AS r SEMI JOIN incoming AS i USING ({key}))
    WHERE month IS NOT NULL
    ON CONFLICT DO NOTHING;
DELETE FROM staging.{table} WHERE {key} IN (SELECT {key} FROM incoming);
INSERT INTO staging.{table} BY NAME SELECT * FROM incoming;
