"""What an operator sees in the UI is what the code defines: dagster-webserver on 127.0.0.1, asked
over GraphQL for the asset graph, the asset checks, the schedules and the sensor."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from pipelines.definitions import defs

ROOT = Path(__file__).resolve().parent.parent
QUERY = """{
  assetNodes { assetKey { path } groupName assetChecksOrError { ... on AssetChecks { checks { name } } } }
  repositoriesOrError { ... on RepositoryConnection { nodes { schedules { name cronSchedule } sensors { name } } } }
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webserver_shows_the_defined_graph(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([str(Path(sys.executable).parent / "dagster-webserver"), "-w", "workspace.yaml",
                               "-h", "127.0.0.1", "-p", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2).read()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "dagster-webserver did not come up in 120 s"
                time.sleep(0.5)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": QUERY}).encode(),
                                         headers={"Content-Type": "application/json"})
        data = json.loads(urllib.request.urlopen(request, timeout=120).read())["data"]
    finally:
        server.terminate()
        server.wait(timeout=30)

    graph = defs.resolve_asset_graph()
    shown = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in data["assetNodes"]}
    assert shown == {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    checks = {("/".join(n["assetKey"]["path"]), c["name"]) for n in data["assetNodes"]
              for c in n["assetChecksOrError"].get("checks", [])}
    assert checks == {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    repository = data["repositoriesOrError"]["nodes"][0]
    assert {(s["name"], s["cronSchedule"]) for s in repository["schedules"]} == {
        ("monthly_report_schedule", "0 6 2 * *"), ("daily_ingest_schedule", "0 5 * * *")}
    assert sorted(s["name"] for s in repository["sensors"]) == ["landing_sensor", "open_months_sensor"]
