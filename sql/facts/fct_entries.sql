-- One row per current entry of the months {first_month}..{last_month} (a partition range) with its
-- importer's CTPAT status and tier as of the local arrival date (valid_from <= date < valid_to;
-- suspended, removed, withdrawn or never a member = UNCERTIFIED), what its current exams add up to,
-- and how many port closures in force catch it (business resumption).
WITH certified AS (
    SELECT * FROM certified_intervals('staging.stg_ctpat_status')
), exam_totals AS (
    SELECT
        entry_number,
        count(*)                                              AS exams,
        count(*) FILTER (WHERE exam_type = 'NII')             AS nii_exams,
        count(*) FILTER (WHERE exam_type = 'TAILGATE')        AS tailgate_exams,
        count(*) FILTER (WHERE exam_type = 'INTENSIVE')       AS intensive_exams,
        count(*) FILTER (WHERE exam_type = 'DOCUMENT')        AS document_exams,
        count(*) FILTER (WHERE exam_type = 'AGRICULTURE')     AS agriculture_exams,
        count(*) FILTER (WHERE exam_type = 'PGA')             AS pga_exams,
        count(*) FILTER (WHERE exam_type = 'UFLPA_DETENTION') AS uflpa_detentions,
        count(started_at)                                     AS exams_started,
        max(wait_hours)                                       AS max_wait_hours
    FROM staging.stg_exams
    WHERE month BETWEEN '{first_month}' AND '{last_month}'
    GROUP BY entry_number
), closures AS (
    SELECT e.entry_number, count(*) AS caught_by_closures
    FROM staging.stg_entries AS e
    JOIN staging.stg_disruptions AS d
      ON d.port_code = e.port_code AND caught_by_closure(e.arrival_at, e.release_at, d.closed_at, d.reopened_at)
    WHERE e.month BETWEEN '{first_month}' AND '{last_month}'
    GROUP BY e.entry_number
)
SELECT
    e.entry_number,
    e.entry_type,
    e.importer_number,
    e.port_code,
    e.mode_of_transport,
    e.lane_type,
    e.carrier_code,
    e.country_of_origin,
    e.hts_number,
    e.entered_value_usd,
    e.arrival_at,
    e.release_at,
    e.time_zone,
    e.arrival_local,
    e.arrival_local_date,
    e.month,
    CASE WHEN c.partner_id IS NULL THEN 'UNCERTIFIED' ELSE 'CERTIFIED' END AS ctpat_status,
    c.tier                                                             AS ctpat_tier,
    coalesce(x.exams, 0) > 0                                           AS examined,
    coalesce(x.exams, 0)             AS exams,
    coalesce(x.nii_exams, 0)         AS nii_exams,
    coalesce(x.tailgate_exams, 0)    AS tailgate_exams,
    coalesce(x.intensive_exams, 0)   AS intensive_exams,
    coalesce(x.document_exams, 0)    AS document_exams,
    coalesce(x.agriculture_exams, 0) AS agriculture_exams,
    coalesce(x.pga_exams, 0)         AS pga_exams,
    coalesce(x.uflpa_detentions, 0)  AS uflpa_detentions,
    coalesce(x.exams_started, 0)     AS exams_started,
    x.max_wait_hours,
    e.release_at IS NOT NULL         AS released,
    e.release_hours,
    coalesce(k.caught_by_closures, 0) AS caught_by_closures
FROM staging.stg_entries AS e
LEFT JOIN certified AS c
       ON c.partner_id = e.importer_number
      AND c.valid_from <= e.arrival_local_date
      AND (c.valid_to IS NULL OR e.arrival_local_date < c.valid_to)
LEFT JOIN exam_totals AS x USING (entry_number)
LEFT JOIN closures AS k USING (entry_number)
WHERE e.month BETWEEN '{first_month}' AND '{last_month}'
