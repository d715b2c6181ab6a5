"""The rule book: GX expectation suites in expectations/<source>.json.

Each expectation carries its contract reason code in `meta.reason_code`; the suite's order is the
contract's order of precedence. Row-level rejections are derived from the same expectations:
each one names the rows it finds unexpected, and a row takes the code of the first expectation
that finds it. Nothing here knows a rule; it only knows how an expectation type selects rows.
"""

from __future__ import annotations

import json
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
        column = '"' + self.kwargs["column"] + '"'
        if self.type == "expect_column_values_to_not_be_null":
            return f"SELECT * FROM {batch} WHERE {column} IS NULL"
        if self.type == "expect_column_values_to_be_in_set":
            # GX's map expectations skip NULLs; a required column pairs this with not_be_null.
            values = ", ".join("'" + str(v).replace("'", "''") + "'" for v in self.kwargs["value_set"])
            return f"SELECT * FROM {batch} WHERE {column} IS NOT NULL AND {column} NOT IN ({values})"
        raise ValueError(f"no row-level selection known for expectation type {self.type!r}")


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


def first_reason_sql(source: str, batch: str) -> str:
    """SQL giving (_rid, reason_code) for every batch row at least one expectation rejects."""
    hits = "\nUNION ALL\n".join(
        f"SELECT _rid, {r.position} AS position FROM ({r.unexpected_rows_sql(batch)})" for r in rules(source))
    codes = ", ".join(f"({r.position}, '{r.reason_code}')" for r in rules(source))
    return (f"WITH hits AS ({hits}), first_hit AS (SELECT _rid, min(position) AS position FROM hits GROUP BY _rid) "
            f"SELECT f._rid, c.reason_code FROM first_hit AS f "
            f"JOIN (VALUES {codes}) AS c(position, reason_code) USING (position)")
