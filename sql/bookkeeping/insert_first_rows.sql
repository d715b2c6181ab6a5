-- The batch into an empty staging table: no current row to replace, so the rows go in as the
-- staging model's query gives them, and the months they fall in open for rebuilding, as
-- merge_current_rows.sql would open them. The same rows and months, without its temporary copy.
INSERT INTO staging.{table} BY NAME SELECT * FROM (
{incoming}
);
INSERT INTO meta.open_months (month, reason)
    SELECT DISTINCT month, '{source}' FROM staging.{table} WHERE month IS NOT NULL
    ON CONFLICT DO NOTHING;
