"""Border Wait Times ingest rate: `python -m pipelines bench-bwt --snapshots N`.

Writes N snapshots (the bundled real ones, each re-stamped with its own document time, as a poller
every 10 minutes would collect them) into a temporary landing zone, then times, on one process:
ingest (hash, parse, load into raw.bwt), and a second ingest of the same folder (nothing new).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

from assets.ingest.register import ingest_source
from assets.resources import Warehouse


def write_snapshots(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    samples = [p.read_text() for p in sorted(resources.files("assets.reference").joinpath("bwt_snapshots").iterdir())
               if p.name.endswith(".xml")]
    start = datetime(2026, 1, 1)
    for i in range(n):
        text = samples[i % len(samples)]
        doc = start + timedelta(minutes=10 * i)
        head, rest = text.split("<number_of_ports>", 1)
        head = (f"<border_wait_time>\n  <last_updated_date>{doc.year}-{doc.month}-{doc.day}</last_updated_date>\n"
                f"  <last_updated_time>{doc:%H:%M:%S}</last_updated_time>\n  ")
        (folder / f"bwt_{doc:%Y-%m-%dT%H%M%S}.xml").write_text(head + "<number_of_ports>" + rest)


def bench(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bwt"
        write_snapshots(folder, n)
        warehouse = Warehouse(path=str(Path(tmp) / "w.duckdb"))
        with warehouse.session() as con:
            started = time.perf_counter()
            counts = ingest_source(con, "bwt", folder)
            ingest_s = time.perf_counter() - started
            started = time.perf_counter()
            again = ingest_source(con, "bwt", folder)
            again_s = time.perf_counter() - started
            rows = con.execute("SELECT count(*) FROM raw.bwt").fetchone()[0]
    cpu = len(os.sched_getaffinity(0))
    return {"snapshots": n, "files_loaded": counts["new_files"], "lane_rows": rows, "ingest_s": round(ingest_s, 3),
            "snapshots_per_s": round(n / ingest_s, 1), "cores": cpu, "reingest_s": round(again_s, 3),
            "reingest_new_files": again["new_files"]}


def main(n: int) -> int:
    print(json.dumps(bench(n), indent=2))
    return 0
