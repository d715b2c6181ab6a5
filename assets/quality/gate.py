"""The quality gate: quarantine rejected rows with their one reason code, then pass or block each file.

Per the contract a file whose share of rejected rows is over the threshold blocks the run, and keeps
blocking later runs until it is replaced, removed (its content no longer in the landing zone) or
accepted by name. A source whose suite is all-or-nothing (CTPAT) is blocked by any rejected row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from assets.marts.pseudonyms import shown
from assets.quality.rulebook import all_or_nothing, first_reason_sql, flags_sql


@dataclass
class GateReport:
    source: str
    files_checked: int = 0
    rows_checked: int = 0
    rows_rejected: int = 0
    blocked: list[str] = field(default_factory=list)  # one line per blocking file
    accepted: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.blocked


def batch_view(source: str) -> str:
    """The view GX validates. It lives in schema main: GX's table asset drops the schema name on DuckDB."""
    return f"quality_batch_{source}"


def open_batch(con: duckdb.DuckDBPyConnection, source: str) -> int:
    """(Re)define the batch view as the raw rows of files awaiting the gate, each with when its file
    was first seen (`_file_seen_at`: timestamps may lie at most a day after it); return its size."""
    con.execute(f"CREATE OR REPLACE VIEW main.{batch_view(source)} AS SELECT r.*, f.first_seen_at AS _file_seen_at "
                f"FROM raw.{source} AS r JOIN meta.files AS f ON f.file_id = r._file_id "
                f"WHERE f.source = '{source}' AND f.status = 'ingested'")
    return con.execute(f"SELECT count(*) FROM main.{batch_view(source)}").fetchone()[0]


def flags_table(source: str) -> str:
    """The batch's narrow table of rule flags (rulebook.flags_sql), in schema main beside the batch view
    (GX validates it); it lives from the scan to the quarantine."""
    return f"quality_flags_{source}"


def flag_batch(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Evaluate every expectation of the suite on the batch in one scan (rulebook.flags_sql)."""
    con.execute(f"CREATE OR REPLACE TABLE main.{flags_table(source)} AS "
                f"{flags_sql(source, 'main.' + batch_view(source))}")


# The record of a rejected row as delivered: the row as JSON, or for a record spread over several
# rows (a bwt port element and its lanes share one _rid) a JSON array of them.
RECORD = "CASE WHEN count(*) = 1 THEN CAST(any_value(to_json(b)) AS VARCHAR) ELSE CAST(to_json(list(b)) AS VARCHAR) END"


def quarantine(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Write every rejected batch record, with its first reason code (from the batch's flags) and the
    record as delivered; the flags table is dropped with it."""
    batch = f"main.{batch_view(source)}"
    flags = f"main.{flags_table(source)}"
    con.execute(f"DELETE FROM quality.rejected_rows WHERE reason_code <> 'malformed_line' AND _file_id IN "
                f"(SELECT file_id FROM meta.files WHERE source = '{source}' AND status = 'ingested')")
    con.execute(f"INSERT INTO quality.rejected_rows (_file_id, _rid, line, reason_code, record) "
                f"SELECT b._file_id, b._rid, NULL, r.reason_code, {RECORD} "
                f"FROM ({first_reason_sql(source, flags)}) AS r JOIN {batch} AS b USING (_rid) "
                f"GROUP BY b._file_id, b._rid, r.reason_code")
    whole_file_code = all_or_nothing(source)
    if whole_file_code:
        con.execute(f"INSERT INTO quality.rejected_rows (_file_id, _rid, line, reason_code, record) "
                    f"SELECT b._file_id, b._rid, NULL, '{whole_file_code}', {RECORD} FROM {batch} AS b "
                    f"WHERE b._file_id IN (SELECT _file_id FROM quality.rejected_rows) "
                    f"AND b._rid NOT IN (SELECT _rid FROM quality.rejected_rows WHERE _rid IS NOT NULL) "
                    f"GROUP BY b._file_id, b._rid")
    con.execute(f"DROP TABLE {flags}")


def decide(con: duckdb.DuckDBPyConnection, source: str, max_share: float, accept: list[str], key: bytes) -> GateReport:
    """Count rejections per file and set each waiting file's status: loaded or blocked. The report's
    lines name files as they may be shown (importer numbers pseudonymised, on one line)."""
    report = GateReport(source)
    con.execute("UPDATE meta.files AS f SET rows_rejected = (SELECT count(*) FROM quality.rejected_rows AS q "
                "WHERE q._file_id = f.file_id) WHERE source = ? AND status IN ('ingested', 'blocked')", [source])
    waiting = con.execute(
        "SELECT file_id, file_name, status, rows_read, rows_rejected, in_landing FROM meta.files "
        "WHERE source = ? AND status IN ('ingested', 'blocked') ORDER BY file_name, file_id", [source]).fetchall()
    strict = all_or_nothing(source) is not None
    for file_id, name, status, read, rejected, in_landing in waiting:
        if status == "ingested":
            report.files_checked += 1
            report.rows_checked += read
            report.rows_rejected += rejected
        share = rejected / read if read else 0.0
        over = rejected > 0 if strict else share > max_share
        if over and name in accept:
            _set(con, file_id, "loaded", f"accepted by operator with {rejected} of {read} rows rejected", accepted=True)
            report.accepted.append(shown(name, key))
        elif over and (status == "ingested" or in_landing):
            reasons = con.execute(
                "SELECT reason_code, count(*) AS n FROM quality.rejected_rows WHERE _file_id = ? "
                "GROUP BY ALL ORDER BY n DESC, reason_code LIMIT 3", [file_id]).fetchall()
            why = ", ".join(f"{code} {n}" for code, n in reasons)
            rule = "any rejected row rejects the export" if strict else f"over {max_share:.1%}"
            message = f"{rejected} of {read} rows rejected ({share:.1%}, {rule}): {why}"
            _set(con, file_id, "blocked", message)
            report.blocked.append(f"{source}/{shown(name, key)}: {message}")
        elif over:
            _set(con, file_id, "blocked", _message(con, file_id) + "; no longer in the landing zone")
        elif status == "ingested":
            _set(con, file_id, "loaded", None)
    return report


def _message(con, file_id: int) -> str:
    message = con.execute("SELECT message FROM meta.files WHERE file_id = ?", [file_id]).fetchone()[0] or ""
    return message.removesuffix("; no longer in the landing zone")


def _set(con, file_id: int, status: str, message: str | None, accepted: bool = False) -> None:
    con.execute("UPDATE meta.files SET status = ?, message = ?, accepted = accepted OR ? WHERE file_id = ?",
                [status, message, accepted, file_id])
