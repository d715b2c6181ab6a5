"""The scale benchmark: `python -m pipelines bench-scale` (`make bench-100m`, not in CI).

For each size (10 M and 100 M entries by default) over the same period (30 months from 2024-01,
about 2.5 years of US national volume at 100 M), it times, each in its own process:
- `python -m pipelines generate --entries N --start 2024-01 --months 30` (the default mixed formats);
- one `python -m pipelines run` of that landing zone on a fresh warehouse.
Each gets its wall time and its peak memory: the largest sum of proportional set sizes over the
process and its descendants (chart workers included), sampled every 0.5 s from /proc. (Not the
rusage of os.wait4: Linux keeps a child's peak from before its exec, when it was a copy of the
forking process, so a small command forked from a large process reports the large one's size.)
The ratios of the largest size to the smallest go beside them in bench/results/scale.json (or
--out), which is rewritten after every step, so an interrupted run keeps what it measured
("complete": false). Landing zones and warehouses are deleted after each size unless --keep.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from assets.marts.publish import code_version
from assets.resources import REPO_ROOT
from bench.run import machine, versions


def tree_pss_mb(pid: int) -> float:
    """Memory of a process and all its descendants now, in MB: the sum of their proportional set sizes
    (Linux /proc/PID/smaps_rollup), which counts a page shared by several processes once, unlike a
    sum of RSS (the chart workers share the libraries they import)."""
    total_kb, stack, seen = 0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            total_kb += next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0)
            for task in Path(f"/proc/{p}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # it ended between the listing and the read
    return total_kb / 1024


def measure(command: list[str], env: dict | None = None) -> dict:
    """Run a command to its end: wall seconds and the peak memory of its process tree (sampled)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO_ROOT, env={**os.environ, **(env or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_pss_mb(process.pid))
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stderr = process.stderr.read()  # drained while it runs: a full pipe would stall the child
    status = process.wait()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if status != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({status}): {stderr.decode(errors='replace')[-2000:]}")
    return {"seconds": round(wall, 1), "peak_tree_pss_mb": round(peak[0], 1)}


def one_size(entries: int, start: str, months: int, data: Path, keep: bool, record) -> dict:
    """Generate, then run, one size; `record(row)` is called after each step so that what was
    measured survives an interrupted benchmark."""
    folder = data / f"entries_{entries}"
    shutil.rmtree(folder, ignore_errors=True)
    landing = folder / "landing"
    python = [sys.executable, "-m", "pipelines"]
    row: dict = {"entries": entries}
    row["generate"] = measure([*python, "generate", "--out", str(landing), "--entries", str(entries), "--seed", "7",
                               "--start", start, "--months", str(months)])
    row["landing_mb"] = round(sum(p.stat().st_size for p in landing.rglob("*") if p.is_file()) / 2**20)
    record(row)
    print(f"  {entries:,} entries: generate {row['generate']['seconds']} s, "
          f"{row['generate']['peak_tree_pss_mb']:,.0f} MB", file=sys.stderr)
    row["run"] = measure([*python, "run", "--landing", str(landing), "--warehouse", str(folder / "warehouse.duckdb"),
                          "--marts", str(folder / "analytics.duckdb"), "--reports", str(folder / "reports")],
                         env={"EXAM_RISK_PSEUDONYM_KEY": os.environ.get("EXAM_RISK_PSEUDONYM_KEY", "benchmark-key-not-secret")})
    row["warehouse_mb"] = round((folder / "warehouse.duckdb").stat().st_size / 2**20)
    record(row)
    print(f"  {entries:,} entries: run {row['run']['seconds']} s, {row['run']['peak_tree_pss_mb']:,.0f} MB",
          file=sys.stderr)
    if not keep:
        shutil.rmtree(folder)
    return row


def run(sizes: list[int], start: str, months: int, data: Path, out: Path, keep: bool = False) -> dict:
    data.mkdir(parents=True, exist_ok=True)
    result = {"command": f"python -m pipelines bench-scale --sizes {' '.join(map(str, sizes))} "
                         f"--start {start} --months {months}",
              "start": start, "months": months, "sizes": [], "complete": False,
              "machine": machine(), "versions": versions(),
              "code_version": code_version()}
    out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        result["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        out.write_text(json.dumps(result, indent=2) + "\n")

    def record(row: dict) -> None:
        result["sizes"] = [r for r in result["sizes"] if r["entries"] != row["entries"]] + [row]
        save()

    # In the order given: the default is smallest first; largest first lets the small size run alone
    # after something else that shared the machine at the start (the ratio then errs high, not low).
    rows = [one_size(n, start, months, data, keep, record) for n in sizes]
    small, large = min(rows, key=lambda r: r["entries"]), max(rows, key=lambda r: r["entries"])
    result.update({
        "complete": True,
        "run_time_ratio_largest_vs_smallest": round(large["run"]["seconds"] / small["run"]["seconds"], 2),
        "generate_time_ratio_largest_vs_smallest": round(large["generate"]["seconds"] / small["generate"]["seconds"], 2),
        "peak_tree_pss_mb_largest": max(large["generate"]["peak_tree_pss_mb"], large["run"]["peak_tree_pss_mb"]),
    })
    save()
    for row in rows:
        print(f"{row['entries']:>12,} entries  generate {row['generate']['seconds']:>8.1f} s "
              f"{row['generate']['peak_tree_pss_mb']:>8,.0f} MB   run {row['run']['seconds']:>8.1f} s "
              f"{row['run']['peak_tree_pss_mb']:>8,.0f} MB")
    print(f"run time, largest / smallest: {result['run_time_ratio_largest_vs_smallest']}x (target <= 11x); "
          f"peak memory of the largest: {result['peak_tree_pss_mb_largest']:,.0f} MB (target <= 6,144 MB)")
    print(f"written: {out}")
    return result
