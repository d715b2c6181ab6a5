-- Exams follow their entry: place every exam of the entries staged since the last rejoin in the
-- entry's month (a pending exam joins; an exam whose entry moved month moves with it). The
-- entries' merge already opened those months.
UPDATE staging.stg_exams AS x
SET month = e.month
FROM staging.stg_entries AS e
WHERE e._file_id IN (SELECT file_id FROM meta.entries_files_to_rejoin)
  AND x.entry_number = e.entry_number
  AND x.month IS DISTINCT FROM e.month;
UPDATE meta.files SET exams_rejoined = true WHERE file_id IN (SELECT file_id FROM meta.entries_files_to_rejoin);
