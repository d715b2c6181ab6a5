"""Ingest: reference ports and each landing source into raw tables, each file once."""


import time
from pathlib import Path

import dagster as dg

from assets.ingest.register import ingest_source
from assets.marts.pseudonyms import shown
from assets.resources import PipelineSettings, WAREHOUSE_POOL, Warehouse, reference_file


def reference_asset(table: str, csv_name: str, description: str) -> dg.AssetsDefinition:
    """A reference table loaded as text from its CSV in assets/reference."""
    @dg.asset(name=table, group_name="ingest", pool=WAREHOUSE_POOL, description=description, kinds={"duckdb", "csv"})
    def _reference(warehouse: Warehouse) -> dg.MaterializeResult:
        with warehouse.session() as con:
            con.execute(f"CREATE OR REPLACE TABLE ref.{table} AS SELECT * FROM read_csv(?, all_varchar = true, header = true)",
                        [str(reference_file(csv_name))])
            rows = con.execute(f"SELECT count(*) FROM ref.{table}").fetchone()[0]
        return dg.MaterializeResult(metadata={"rows": rows, "dagster/row_count": rows})

    return _reference


schedule_d_ports = reference_asset("schedule_d_ports", "schedule_d_ports.csv",
                                   "CBP Schedule D ports with their IANA time zones (assets/reference).")
bwt_crossings = reference_asset("bwt_crossings", "bwt_crossings.csv",
                                "Border Wait Times crossings mapped to Schedule D ports (assets/reference).")
# The code lists of the contract, published as the analyst file's lookup tables (sources: SOURCES.md).
mode_codes = reference_asset("mode_codes", "modes.csv", "CBP mode of transportation codes with their descriptions.")
entry_type_codes = reference_asset("entry_type_codes", "entry_types.csv", "CBP entry type codes with their descriptions.")
exam_type_codes = reference_asset("exam_type_codes", "exam_types.csv", "The contract's exam type codes, described.")
hts_sections = reference_asset("hts_sections", "hts_sections.csv",
                               "HTS chapters with their tariff schedule section (assets/reference): a stratum of the "
                               "exam-rate ratios.")


def raw_asset(source: str) -> dg.AssetsDefinition:
    @dg.asset(name=f"raw_{source}", group_name="ingest", pool=WAREHOUSE_POOL, deps=[schedule_d_ports, bwt_crossings],
              kinds={"duckdb", "polars", "python"},
              description=f"Rows of landing/{source}/ files as delivered (all text), each file loaded once by content hash.")
    def _raw(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings) -> dg.MaterializeResult:
        started = time.perf_counter()
        with warehouse.session() as con:
            counts = ingest_source(con, source, settings.landing_folder(source), settings.max_file_bytes,
                                   Path(settings.landing))
            total = con.execute(f"SELECT count(*) FROM raw.{source}").fetchone()[0]
            failed = con.execute("SELECT file_name, message FROM meta.files WHERE source = ? AND status = 'failed' "
                                 "AND in_landing ORDER BY file_name", [source]).fetchall()
        context.log.info(f"{source}: {counts}")
        key = settings.key_bytes()
        failed = [(shown(f"{source}/{name}", key), shown(message, key)) for name, message in failed]
        for name, message in failed:
            context.log.warning(f"{name} failed: {message}")
        return dg.MaterializeResult(metadata={**counts, "raw_rows_total": total,
                                              "seconds": round(time.perf_counter() - started, 3),
                                              "failed_files": "\n".join(f"{n}: {m}" for n, m in failed) or "none"})

    return _raw


raw_entries, raw_exams, raw_ctpat, raw_disruptions, raw_bwt = (
    raw_asset(s) for s in ("entries", "exams", "ctpat", "disruptions", "bwt"))
