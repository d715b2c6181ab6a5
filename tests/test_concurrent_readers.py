"""Analysts read while the pipeline writes: readers in other processes open the analytics file
read-only in a loop while two pipeline runs publish; every read succeeds and adds up."""

import json
import subprocess
import sys
import textwrap
import time
import pytest

from landing_builders import entry, exam, good_entries, write_csv
from pipelines.sample_data import generate

READER = textwrap.dedent('''
    import json, sys, time, duckdb
    path, stop, out = sys.argv[1], sys.argv[2], sys.argv[3]
    reads, errors, inconsistent, runs = 0, [], [], set()
    marts = None
    from pathlib import Path
    while not Path(stop).exists():
        try:
            with duckdb.connect(path, read_only=True) as con:
                marts = marts or [r[0] for r in con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()]
                counts = {m: con.execute(f"SELECT count(*) FROM marts.{m}").fetchall()[0][0] for m in marts}
                entries = con.execute("SELECT sum(entries) FROM marts.exam_rates").fetchall()[0][0]
                released = con.execute("SELECT sum(released_entries + open_entries) FROM marts.release_times").fetchall()[0][0]
                by_mode = con.execute("SELECT sum(entries) FROM marts.exam_rates_by_mode").fetchall()[0][0]
                audit = dict(con.execute("SELECT source, sum(rows_rejected) FROM marts.load_audit GROUP BY 1").fetchall())
                rejected = dict(con.execute("SELECT source, sum(rows) FROM marts.rejections GROUP BY 1").fetchall())
                run = con.execute("SELECT run_id FROM marts.published_runs ORDER BY published_at DESC LIMIT 1").fetchall()[0][0]
                files = json.loads(con.execute("SELECT input_files FROM marts.published_runs ORDER BY published_at DESC LIMIT 1").fetchall()[0][0])
                loaded = con.execute("SELECT count(*) FROM marts.load_audit WHERE status = 'loaded'").fetchall()[0][0]
            runs.add(run)
            if not (entries == released == by_mode and all(audit.get(s, 0) == n for s, n in rejected.items())
                    and len(files) == loaded and counts["exam_rates"] > 0):
                inconsistent.append([entries, released, by_mode, audit, rejected, len(files), loaded])
            reads += 1
        except Exception as exc:  # every failure to read is a finding
            errors.append(repr(exc))
        # A read of every mart takes about 90 ms of a core. Every 20 ms, the two readers took 1.6 of the
        # machine's two cores (220 reads each; 59 s of CPU in a 44 s test), from the runs and from the
        # suite's other worker; every 250 ms, about 50 reads each over the three publications, 33 s of CPU.
        time.sleep(0.25)
    Path(out).write_text(json.dumps({"reads": reads, "errors": errors, "inconsistent": inconsistent,
                                     "runs": sorted(runs)}))
''')


@pytest.mark.slow
def test_readers_see_whole_publications_while_runs_publish(paths, tmp_path):
    generate(paths.landing, entries=20_000, seed=9)
    # The runs publish without drawing (--no-reports): the readers read the analytics file, which a
    # publication replaces whole; drawing reads it as one more reader and is test_report's.
    assert paths.run(draw=False).exit_code == 0
    stop = tmp_path / "stop"
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(paths.analytics), str(stop), str(tmp_path / f"r{i}.json")])
               for i in range(2)]
    try:
        time.sleep(2)
        # Two more publications: a correction, then a new month's entries and exams.
        write_csv(paths.landing / "entries" / "entries_zz_corrections.csv", good_entries(range(1, 50)))
        assert paths.run(draw=False).exit_code == 0
        write_csv(paths.landing / "entries" / "entries_zz_july.csv",
                  [entry(500 + i, arrival_at="2026-07-02T10:00:00-06:00", release_at="2026-07-02T12:00:00-06:00")
                   for i in range(40)])
        write_csv(paths.landing / "exams" / "exams_zz_july.csv", [exam(f"J{i}", 500 + i) for i in range(5)])
        assert paths.run(draw=False).exit_code == 0
        time.sleep(2)
    finally:
        stop.write_text("stop")
        for reader in readers:
            reader.wait(timeout=60)
    results = [json.loads((tmp_path / f"r{i}.json").read_text()) for i in range(2)]
    for result in results:
        assert result["errors"] == [] and result["inconsistent"] == []
        assert result["reads"] > 5
    assert len({run for r in results for run in r["runs"]}) == 3  # readers saw all three publications
