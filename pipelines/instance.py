"""The one persistent Dagster instance every run is recorded on: the CLI's, `make demo`'s, the
UI's, the schedules' and the sensors'. After `make demo`, `make dev` shows its runs, each month's
materializations, the check results and their metadata."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import dagster as dg

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_SETTINGS = Path(__file__).with_name("dagster.yaml")
# Tags on the CLI's runs: which process executes them, so that a later run can tell a dead one.
PID_TAG, HOST_TAG, LAUNCHED_BY = "exam_risk/pid", "exam_risk/host", "exam_risk/launched_by"
UNFINISHED = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.NOT_STARTED]


def dagster_home() -> Path:
    """$DAGSTER_HOME (made absolute) or `.dagster_home` in the repository; created if missing, with
    the instance settings of pipelines/dagster.yaml unless it already has its own."""
    home = Path(os.environ.get("DAGSTER_HOME") or REPO_ROOT / ".dagster_home").expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(INSTANCE_SETTINGS, home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def persistent_instance() -> dg.DagsterInstance:
    dagster_home()
    return dg.DagsterInstance.get()


def process_tags() -> dict[str, str]:
    return {LAUNCHED_BY: "python -m pipelines run", PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def release_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """CLI runs of this host whose process is gone (killed, e.g. SIGKILL, or the machine stopped):
    their concurrency-pool slots are freed and they are marked failed. Without this the next run
    would wait forever, "blocked by limit for pool". Runs the UI or the daemon launched are left to
    Dagster's run monitoring (they carry no process tag)."""
    host = socket.gethostname()
    released = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED, tags={HOST_TAG: host})):
        pid = run.tags.get(PID_TAG, "")
        if not pid.isdigit() or _alive(int(pid)):
            continue
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        instance.report_run_failed(run, f"its process {pid} ended without finishing the run; "
                                        "its concurrency-pool slots were freed by a later run")
        released.append(run.run_id)
    return released
