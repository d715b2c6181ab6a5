"""Great Expectations 1.x evaluating a suite on a DuckDB table through GX's SQL execution engine.

GX's SqlAlchemyExecutionEngine returns the cursor after releasing the pooled connection; DuckDB
drops a pending result when its connection is released, so every expectation fails with an
IndexError in resolve_metric_bundle. `_buffered_execute_query` fetches the result inside the
connection scope instead; it is installed once, before the first validation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from assets.quality.rulebook import flag_column, rules, suite_json

_patched = False


@dataclass(frozen=True)
class ExpectationOutcome:
    position: int
    reason_code: str
    type: str
    success: bool
    unexpected_count: int | None
    element_count: int | None
    error: str | None


def _buffered_execute_query(self, query):
    with self.get_connection() as connection:
        return self._execute_query_with_recovery(connection, query).freeze()()


def _install_patch() -> None:
    global _patched
    if _patched:
        return
    from great_expectations.execution_engine.sqlalchemy_execution_engine import SqlAlchemyExecutionEngine
    SqlAlchemyExecutionEngine.execute_query = _buffered_execute_query
    _patched = True


def build_suite(source: str, types: set[str] | None = None):
    """The source's suite from the rule book (only the expectation types given, if any: the benchmark)."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    spec = suite_json(source)
    # GX reports results in its own order; the position in meta ties each back to the rule book.
    expectations = [ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"],
                                              meta={**e.get("meta", {}), "position": i}).to_domain_obj()
                    for i, e in enumerate(spec["expectations"]) if types is None or e["type"] in types]
    return gx.ExpectationSuite(name=spec["name"], expectations=expectations, meta=spec.get("meta"))


def flag_suite(source: str):
    """The suite GX checks the batch's flags table with (gate.flag_batch): for each rule-book
    expectation, in order, "its flag column adds up to 0" (the sum is the rows it finds unexpected:
    flags are never NULL). The meta keeps the rule book's reason code, position and expectation type,
    so results read as the rule book's.

    A sum is an aggregate: GX bundles a suite's sums into one query. "Values in set [false]", a map
    expectation, needed counts and a sample of unexpected values per flag: the entries' 17 flags took
    24 statements a validation, their sums 7 (on 10 M rows 0.55-0.92 -> 0.22-0.28 s, on 8,000 rows
    0.28-0.57 -> 0.15-0.26 s; issue 15's twenty-fifth round), and the sample could only read `true`."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    spec = suite_json(source)
    expectations = [ExpectationConfiguration(
        type="expect_column_sum_to_be_between", kwargs={"column": flag_column(r), "min_value": 0, "max_value": 0},
        meta={"reason_code": r.reason_code, "position": r.position, "rule_book_type": r.type, "rule": r.description},
    ).to_domain_obj() for r in rules(source)]
    return gx.ExpectationSuite(name=f"{spec['name']}_flags", expectations=expectations, meta=spec.get("meta"))


def validate_table(database: Path, schema: str, table: str, source: str,
                   types: set[str] | None = None) -> list[ExpectationOutcome]:
    """Run the source's suite as written on schema.table of the DuckDB file with GX's SQL engine (each
    expectation scans the rows itself). The caller must not hold a read-write connection to the file
    in another process."""
    return _validate(database, schema, table, source, build_suite(source, types))


def validate_flags(database: Path, table: str, source: str) -> list[ExpectationOutcome]:
    """Run the flag suite on the batch's flags table main.<table> (the pipeline's one-pass gate)."""
    return _validate(database, "main", table, source, flag_suite(source))


def _validate(database: Path, schema: str, table: str, source: str, suite) -> list[ExpectationOutcome]:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from sqlalchemy.pool import StaticPool

    _install_patch()
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # One connection for the whole validation (opening the file costs ~30 ms, and GX asks for a
    # connection per query), closed by dispose() below: no DuckDB handle outlives the validation,
    # or it would keep the pipeline's own connection, with its settings, from opening the file.
    datasource = context.data_sources.add_sql(name=f"warehouse_{source}", connection_string=f"duckdb:///{database}",
                                              kwargs={"poolclass": StaticPool})
    try:
        asset = datasource.add_table_asset(name=table, table_name=table, schema_name=schema)
        batch = asset.add_batch_definition_whole_table("whole_table").get_batch()
        # BASIC: each expectation's counts and a few unexpected values, which is all the outcomes read.
        # SUMMARY also counted the unexpected values by value, one more query per failing expectation
        # (the entries' suite on 8,018 flag rows 0.41 -> 0.31 s, on 4 M rows 0.48 -> 0.34 s, medians of
        # three; the same outcomes).
        result = batch.validate(suite, result_format={"result_format": "BASIC", "partial_unexpected_count": 5})
    finally:  # the datasource's engine (asset checks) and the execution engine's own
        datasource.get_execution_engine().engine.dispose()
        datasource.get_engine().dispose()
    outcomes = []
    for r in result.results:
        res = r.result or {}
        unexpected = res.get("unexpected_count", res.get("observed_value"))
        error = r.exception_info.get("exception_message") if r.exception_info.get("raised_exception") else None
        if error is None:  # GX nests per-metric exception info when a metric fails
            nested = [v for v in r.exception_info.values() if isinstance(v, dict) and v.get("raised_exception")]
            error = nested[0]["exception_message"] if nested else None
        meta = r.expectation_config.meta
        outcomes.append(ExpectationOutcome(
            position=meta["position"], reason_code=meta["reason_code"], type=meta.get("rule_book_type", r.expectation_config.type),
            success=bool(r.success), unexpected_count=None if unexpected is None else int(unexpected),
            element_count=res.get("element_count"), error=error))
    return sorted(outcomes, key=lambda o: o.position)
