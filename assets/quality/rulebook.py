"""The rule book: GX expectation suites in expectations/<source>.json.

Each expectation carries its contract reason code in `meta.reason_code`; the suite's order is the
contract's order of precedence. Row-level rejections are derived from the same expectations:
each one names the rows it finds unexpected, and a row takes the code of the first expectation
that finds it. Nothing here knows a rule; it only knows how an expectation type selects rows.

The gate scans a batch once (`flags_sql`): one narrow row per batch row with one flag per
expectation (true: this expectation finds the row unexpected) and the first of them. GX validates
that narrow table and the quarantine reads it; a test holds every flag equal to GX's own verdict
of the expectation on the batch rows (tests/test_quality_gx.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache

from assets.resources import EXPECTATIONS_DIR


@dataclass(frozen=True)
class Rule:
    position: int
    reason_code: str
    type: str
    kwargs: dict
    description: str

    def unexpected_rows_sql(self, batch: str) -> str:
        """SQL selecting the batch rows this expectation finds unexpected, as GX defines them."""
        if self.type == "unexpected_rows_expectation":
            # GX fills the query with str.format: {batch} is the batch, {{ and }} are literal braces.
            return self.kwargs["unexpected_rows_query"].format(batch=batch)
        return f"SELECT * FROM {batch} WHERE {self._column_predicate()}"

    def _column_predicate(self) -> str:
        """The row condition of a built-in column expectation: true where GX finds the value unexpected."""
        column = '"' + self.kwargs["column"] + '"'
        if self.type == "expect_column_values_to_not_be_null":
            return f"{column} IS NULL"
        if self.type == "expect_column_values_to_be_in_set":
            # GX's map expectations skip NULLs; a required column pairs this with not_be_null.
            values = ", ".join("'" + str(v).replace("'", "''") + "'" for v in self.kwargs["value_set"])
            return f"{column} IS NOT NULL AND {column} NOT IN ({values})"
        raise ValueError(f"no row-level selection known for expectation type {self.type!r}")

    def flag_sql(self, batch: str) -> str:
        """A boolean over one row of `batch` (never NULL): does this expectation find the row unexpected?
        A query `SELECT * FROM {batch} WHERE p` becomes `p` itself, so every flag of a batch is computed
        in the same scan; any other query is matched back to its rows by (_file_id, _row)."""
        if self.type != "unexpected_rows_expectation":
            return f"coalesce(({self._column_predicate()}), false)"
        query = self.kwargs["unexpected_rows_query"]
        where = re.fullmatch(r"\s*SELECT \* FROM \{batch\} WHERE (.+)", query, re.S | re.I)
        if where is None:
            return (f"EXISTS (SELECT 1 FROM ({query.format(batch=batch)}) AS u "
                    f"WHERE u._file_id = b._file_id AND u._row = b._row)")
        predicate = where.group(1).replace("{{", "{").replace("}}", "}").replace("{batch}", batch)
        return f"coalesce(({predicate}), false)"


@cache
def suite_json(source: str) -> dict:
    return json.loads((EXPECTATIONS_DIR / f"{source}.json").read_text())


def rules(source: str) -> list[Rule]:
    suite = suite_json(source)
    return [Rule(i, e["meta"]["reason_code"], e["type"], e["kwargs"], e["meta"].get("rule", ""))
            for i, e in enumerate(suite["expectations"])]


def reason_codes(source: str) -> list[str]:
    """Distinct reason codes of a suite, in order of precedence."""
    return list(dict.fromkeys(r.reason_code for r in rules(source)))


def all_or_nothing(source: str) -> str | None:
    """The reason code given to otherwise valid rows when one bad row rejects the whole file."""
    meta = suite_json(source).get("meta", {})
    return meta.get("otherwise_valid_reason_code") if meta.get("file_policy") == "all_or_nothing" else None


def flag_column(rule: Rule) -> str:
    return f"rule_{rule.position}"


def flags_sql(source: str, batch: str) -> str:
    """One scan of the batch: _file_id, _row, _rid, one flag column per expectation (rule_<position>)
    and `first_rule`, the position of the first expectation that finds the row unexpected (NULL: none)."""
    flags = ", ".join(f"{r.flag_sql(batch)} AS {flag_column(r)}" for r in rules(source))
    first = "CASE " + " ".join(f"WHEN {flag_column(r)} THEN {r.position}" for r in rules(source)) + " END"
    return (f"SELECT *, {first} AS first_rule FROM "
            f"(SELECT _file_id, _row, _rid, {flags} FROM {batch} AS b)")


def first_reason_sql(source: str, flags: str) -> str:
    """SQL giving (_rid, reason_code) for every batch row at least one expectation rejects, from the
    batch's flags table (a record spread over several rows takes its rows' first reason)."""
    codes = ", ".join(f"({r.position}, '{r.reason_code}')" for r in rules(source))
    return (f"SELECT f._rid, c.reason_code FROM (SELECT _rid, min(first_rule) AS position FROM {flags} "
            f"WHERE first_rule IS NOT NULL GROUP BY _rid) AS f "
            f"JOIN (VALUES {codes}) AS c(position, reason_code) USING (position)")
