"""Everything a step of the multiprocess executor imports, for its forkserver to import once:
`execution: config: multiprocess: {start_method: {forkserver: {preload_modules: [pipelines.step_modules]}}}`
(README). Each step's process is then forked with them already in memory.

Dagster's own default preloads only the job's module (pipelines.definitions). The project imports
Great Expectations and matplotlib where they are used, so that the CLI, the UI and the daemon, which
never validate or draw, do not pay for them; a step that does paid on every start: Great
Expectations is 3.5 s of a core in each of the five quality steps, the drawing modules 0.8 s in each
chart and report step (`python -X importtime`).

Dagster's own step process imports more than the job's module: the instance's storages (the event
log's, pipelines/event_log.py, with Dagster's SQL storage, alembic and sqlalchemy under it) and,
whenever it loads the job, `dagster._utils.test.definitions` (its loader checks for that module's
LazyDefinitions), which imports rich, structlog and Dagster's storages. Without them here, a step's
process imported 407 modules more than its forkserver held, about 0.26 s of a core per step (probed
by tests/test_multiprocess.py). The Dagster module comes last: should a Dagster release move it, the
forkserver ignores the ImportError and only this part of the preload is lost, which that test shows.
"""

import great_expectations  # noqa: F401

import pipelines.definitions  # noqa: F401
import pipelines.event_log  # noqa: F401
from assets.quality import gx_duckdb  # noqa: F401
from assets.reports.workers import PRELOAD

for _module in PRELOAD:  # the drawing modules, as the drawing workers' own forkserver preloads them
    __import__(_module)

import dagster._utils.test.definitions  # noqa: E402,F401
