"""Quality: GX suites evaluated on each source's new rows; results as Dagster asset checks."""


import time
from pathlib import Path

import dagster as dg

from assets.quality.gate import decide, flag_batch, flags_table, open_batch, quarantine
from assets.quality.rulebook import reason_codes, rules
from assets.resources import PipelineSettings, WAREHOUSE_POOL, Warehouse


class QualityGateBlocked(dg.Failure):
    """A file is over the reject threshold: nothing from this run is published."""


def _check_specs(source: str) -> list[dg.AssetCheckSpec]:
    asset = f"checked_{source}"
    specs = [dg.AssetCheckSpec(name=code, asset=asset, description="; ".join(
        r.description for r in rules(source) if r.reason_code == code)) for code in reason_codes(source)]
    specs.append(dg.AssetCheckSpec(name="quality_gate", asset=asset, blocking=True,
                                   description="No landing file is over the reject threshold (CTPAT: no rejected row)."))
    return specs


def _check_results(source: str, outcomes, rows: int):
    for code in reason_codes(source):
        mine = [o for o in outcomes if o.reason_code == code]
        unexpected = sum(o.unexpected_count or 0 for o in mine)
        yield dg.AssetCheckResult(
            check_name=code, passed=all(o.success for o in mine), severity=dg.AssetCheckSeverity.WARN,
            metadata={"rows_validated": rows, "unexpected_rows": unexpected,
                      "expectations": ", ".join(o.type for o in mine) or "none (no new rows)",
                      "evaluated_as": "flag columns " + ", ".join(f"rule_{o.position}" for o in mine)
                                      + " of the batch's one-pass flags table" if mine else "none"})


def quality_asset(source: str) -> dg.AssetsDefinition:
    @dg.asset(name=f"checked_{source}", group_name="quality", pool=WAREHOUSE_POOL, deps=[f"raw_{source}"], check_specs=_check_specs(source),
              kinds={"great_expectations", "duckdb"},
              description=f"GX suite expectations/{source}.json on new {source} rows (every rule evaluated in one "
                          "scan, GX checking the flags); rejected rows quarantined with their reason code; files "
                          "over the threshold block the run.")
    def _checked(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings):
        from assets.quality.gx_duckdb import validate_flags

        started = time.perf_counter()
        with warehouse.session() as con:
            rows = open_batch(con, source)
            flag_batch(con, source)  # every rule in one scan; GX checks the flags, the quarantine reads them
        outcomes = validate_flags(Path(warehouse.path), flags_table(source), source) if rows else []
        broken = [o for o in outcomes if o.error]
        if broken:
            raise dg.Failure(f"GX could not evaluate {source} rule {broken[0].reason_code} ({broken[0].type}): {broken[0].error}")
        with warehouse.session() as con:
            con.execute("BEGIN TRANSACTION")
            quarantine(con, source)
            report = decide(con, source, settings.max_reject_share, settings.accept, settings.key_bytes())
            con.execute("COMMIT")
        yield from _check_results(source, outcomes, rows)
        yield dg.AssetCheckResult(check_name="quality_gate", passed=report.passed, metadata={
            "blocked_files": "\n".join(report.blocked) or "none", "accepted_files": ", ".join(report.accepted) or "none"})
        with warehouse.session() as con:
            by_reason = con.execute(
                "SELECT q.reason_code, count(*) FROM quality.rejected_rows AS q JOIN meta.files AS f "
                "ON f.file_id = q._file_id WHERE f.source = ? GROUP BY 1 ORDER BY 2 DESC", [source]).fetchall()
        yield dg.MaterializeResult(metadata={
            "files_checked": report.files_checked, "rows_checked": report.rows_checked,
            "rows_rejected": report.rows_rejected, "blocked_files": len(report.blocked),
            "seconds": round(time.perf_counter() - started, 3),
            "rejected_by_reason_all_files": dg.MetadataValue.md(
                "\n".join(f"- {code}: {n}" for code, n in by_reason) or "none")})
        if report.blocked:
            raise QualityGateBlocked(description="quality gate blocked " + "; ".join(report.blocked),
                                     metadata={"quality_gate": "blocked"})

    return _checked


checked_entries, checked_exams, checked_ctpat, checked_disruptions, checked_bwt = (
    quality_asset(s) for s in ("entries", "exams", "ctpat", "disruptions", "bwt"))
