"""CI: the benchmark ran end to end and wrote every figure the performance issue asks for."""

import json
import sys

NEEDED = ["entries", "pipeline_s", "lower_bound_s", "ratio_vs_lower_bound", "gx_pandas_validation_s", "validation_s",
          "validation_speedup_vs_gx_pandas", "peak_rss_mb", "incremental_month_s", "month_alone_s",
          "dagster_overhead_s", "machine", "versions", "code_version"]

result = json.load(open(sys.argv[1]))
missing = [k for k in NEEDED if result.get(k) is None]
if missing:
    sys.exit(f"the benchmark wrote no {', '.join(missing)}")
print(f"benchmark ran: {result['entries']:,} entries, pipeline {result['pipeline_s']} s, "
      f"lower bound {result['lower_bound_s']} s")
