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
from pipelines.sample_data import generate

ROOT = Path(__file__).resolve().parent.parent
QUERY = """{
  assetNodes { assetKey { path } groupName assetChecksOrError { ... on AssetChecks { checks { name } } }
               isPartitioned partitionStats { numMaterialized } assetMaterializations(limit: 1) { runId } }
  runsOrError { ... on Runs { results { runId jobName status } } }
  repositoriesOrError { ... on RepositoryConnection { nodes { schedules { name cronSchedule } sensors { name } } } }
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


RESOURCES = """query ($location: String!) {
  allTopLevelResourceDetailsOrError(repositorySelector: {repositoryName: "__repository__", repositoryLocationName: $location}) {
    ... on ResourceDetailsList { results { name configuredValues { key value type } } }
  }
}"""
SECRET = "a-pseudonym-key-that-must-never-be-shown-0123456789"


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql",
                                     data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                     headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=120).read())["data"]


def test_webserver_shows_the_defined_graph_and_the_cli_runs(paths, tmp_path):
    """After one CLI run on the same instance the UI shows its runs and every asset materialized."""
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT),
           "EXAM_RISK_PSEUDONYM_KEY": SECRET}
    generate(paths.landing, entries=2000, seed=6, formats="csv", start="2026-01", months=2, bad_share=0.0)
    cli = subprocess.run([sys.executable, "-m", "pipelines", "run", *paths.cli_args()], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert cli.returncode == 0, cli.stdout + cli.stderr
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
        data = _graphql(port, QUERY)
        location = _graphql(port, "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }")
        resources = _graphql(port, RESOURCES, {"location": location["workspaceOrError"]["locationEntries"][0]["name"]})
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

    # The CLI's runs, and every asset materialized by them (each month of the partitioned ones).
    assert sorted((r["jobName"], r["status"]) for r in data["runsOrError"]["results"]) == [
        ("exam_risk_ingest", "SUCCESS"), ("exam_risk_months", "SUCCESS")]
    never = [n["assetKey"]["path"] for n in data["assetNodes"]
             if (n["partitionStats"]["numMaterialized"] < 2 if n["isPartitioned"] else not n["assetMaterializations"])]
    assert never == []

    # The pseudonym key: shown by its variable's name, its value nowhere in what the UI is sent.
    settings = next(r for r in resources["allTopLevelResourceDetailsOrError"]["results"] if r["name"] == "settings")
    key = next(v for v in settings["configuredValues"] if v["key"] == "pseudonym_key")
    assert (key["type"], key["value"]) == ("ENV_VAR", "EXAM_RISK_PSEUDONYM_KEY")
    assert SECRET not in json.dumps(resources) and SECRET not in json.dumps(data)
