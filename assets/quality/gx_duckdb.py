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

from assets.quality.rulebook import suite_json

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


def validate_table(database: Path, schema: str, table: str, source: str,
                   types: set[str] | None = None) -> list[ExpectationOutcome]:
    """Run the source's suite on schema.table of the DuckDB file with GX's SQL engine.
    The caller must not hold a read-write connection to the file in another process."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from sqlalchemy.pool import NullPool

    _install_patch()
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # NullPool: every connection closes on release, so no DuckDB handle outlives the validation
    # (an open one would keep the pipeline's own connection, with its settings, from opening the file).
    datasource = context.data_sources.add_sql(name=f"warehouse_{source}", connection_string=f"duckdb:///{database}",
                                              kwargs={"poolclass": NullPool})
    asset = datasource.add_table_asset(name=table, table_name=table, schema_name=schema)
    batch = asset.add_batch_definition_whole_table("whole_table").get_batch()
    suite = build_suite(source, types)
    result = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5})
    outcomes = []
    for r in result.results:
        res = r.result or {}
        unexpected = res.get("unexpected_count", res.get("observed_value"))
        error = r.exception_info.get("exception_message") if r.exception_info.get("raised_exception") else None
        if error is None:  # GX nests per-metric exception info when a metric fails
            nested = [v for v in r.exception_info.values() if isinstance(v, dict) and v.get("raised_exception")]
            error = nested[0]["exception_message"] if nested else None
        outcomes.append(ExpectationOutcome(
            position=r.expectation_config.meta["position"], reason_code=r.expectation_config.meta["reason_code"], type=r.expectation_config.type,
            success=bool(r.success), unexpected_count=None if unexpected is None else int(unexpected),
            element_count=res.get("element_count"), error=error))
    return sorted(outcomes, key=lambda o: o.position)
