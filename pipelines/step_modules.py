"""Everything a step of the multiprocess executor imports, for its forkserver to import once:
`execution: config: multiprocess: {start_method: {forkserver: {preload_modules: [pipelines.step_modules]}}}`
(README). Each step's process is then forked with them already in memory.

Dagster's own default preloads only the job's module (pipelines.definitions). The project imports
Great Expectations and matplotlib where they are used, so that the CLI, the UI and the daemon, which
never validate or draw, do not pay for them; a step that does paid on every start: Great
Expectations is 3.5 s of a core in each of the five quality steps, the drawing modules 0.8 s in each
chart and report step (`python -X importtime`).
"""

import great_expectations  # noqa: F401

import pipelines.definitions  # noqa: F401
from assets.quality import gx_duckdb  # noqa: F401
from assets.reports.workers import PRELOAD

for _module in PRELOAD:  # the drawing modules, as the drawing workers' own forkserver preloads them
    __import__(_module)
