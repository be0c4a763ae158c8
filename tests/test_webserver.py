"""The Dagster UI's view of the code location, through its GraphQL API.

Starts `dagster-webserver` on a free 127.0.0.1 port against `pipeline.definitions`
(bounded wait, always stopped), then asks it for the asset graph: the raw assets,
every dbt mart with a raw asset upstream, the tie-out checks, the job, the schedule
(running, next tick as configured) and the sensor (running).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.checks.tieouts import read_rules
from tests.helpers import REPO

START_TIMEOUT = 180.0
pytestmark = pytest.mark.slow
MARTS = ("companies", "balance_sheet", "income_statement", "cash_flow_statement",
         "statement_lines", "concept_coverage", "financial_ratios", "financial_ratios_long",
         "tieout_results", "filing_quality")
RAW = (("raw", "filings"), ("raw", "facts"), ("raw", "load_log"), ("raw", "rejects"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, url: str, proc: subprocess.Popen[bytes]) -> None:
        self.url, self.proc = url, proc

    def graphql(self, query: str) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + "/graphql", data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.load(response)
        assert "errors" not in body, body["errors"]
        return body["data"]


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the webserver and its code server (its own process group, by id)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
    except ProcessLookupError:
        pass
    try:  # children that outlived the webserver
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("webserver")
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(root / "home"), "WAREHOUSE_DB": str(
        root / "w.duckdb"), "SEEDS_DIR": str(root / "seeds"),
        "WAREHOUSE_SCHEDULE_CRON": "15 4 * * *", "WAREHOUSE_SCHEDULE_TZ": "Europe/Berlin"}
    subprocess.run([sys.executable, "-m", "pipeline.cli", "prepare-home"], env=env, cwd=REPO,
                   check=True, capture_output=True)
    log = (root / "webserver.log").open("wb")
    webserver = Path(sys.executable).parent / "dagster-webserver"
    proc = subprocess.Popen(
        [str(webserver), "-m", "pipeline.definitions", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dagster-webserver exited ({proc.returncode}):\n"
                            + (root / "webserver.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(url + "/server_info", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"dagster-webserver did not answer within {START_TIMEOUT:.0f} s:\n"
                            + (root / "webserver.log").read_text()[-3000:])
            time.sleep(0.5)
        yield Server(url, proc)
    finally:
        stop(proc)
        log.close()
    assert proc.poll() is not None


ASSETS_QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    description
    isExecutable
    dependencyKeys { path }
    assetChecksOrError {
      ... on AssetChecks { checks { name blocking additionalAssetKeys { path } } }
    }
  }
}
"""


def test_asset_graph_lineage_and_checks(server: Server) -> None:
    nodes = {tuple(n["assetKey"]["path"]): n for n in server.graphql(ASSETS_QUERY)["assetNodes"]}
    for key in RAW:
        assert nodes[key]["groupName"] == "raw" and nodes[key]["isExecutable"], key
    parents = {key: {tuple(d["path"]) for d in n["dependencyKeys"]} for key, n in nodes.items()}

    def upstream(key: tuple[str, ...]) -> set[tuple[str, ...]]:
        seen: set[tuple[str, ...]] = set()
        todo = [key]
        while todo:
            for parent in parents[todo.pop()]:
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    for mart in MARTS:
        key = ("marts", mart)
        assert key in nodes, f"mart {mart} missing from the UI"
        assert nodes[key]["groupName"] in ("marts", "quality")
        assert nodes[key]["description"]
        reached = upstream(key)
        assert set(RAW) & reached, f"{mart} has no raw asset upstream"
        assert ("fetched_filings",) in reached
    assert nodes[("marts", "tieout_results")]["groupName"] == "quality"
    assert {n["groupName"] for n in nodes.values()} >= {"raw", "staging", "marts", "quality"}

    rules = read_rules()
    assert len(rules) == 25
    for rule in rules:
        checks = {c["name"]: c for c in
                  nodes[("marts", rule.statement)]["assetChecksOrError"]["checks"]}
        assert rule.rule_id in checks, rule.rule_id
        check = checks[rule.rule_id]
        assert check["blocking"] is False
        assert {"path": ["marts", "tieout_results"]} in check["additionalAssetKeys"]


def test_job_schedule_sensor_in_the_ui(server: Server) -> None:
    cursor = datetime(2026, 7, 1, tzinfo=UTC).timestamp()
    data = server.graphql("""
    { repositoriesOrError { ... on RepositoryConnection { nodes {
        jobs { name }
        schedules { name cronSchedule executionTimezone scheduleState { status }
                    futureTicks(limit: 1, cursor: CURSOR) { results { timestamp } } }
        sensors { name sensorState { status } }
    } } } }""".replace("CURSOR", str(cursor)))
    repo = data["repositoriesOrError"]["nodes"][0]
    assert "warehouse_job" in {j["name"] for j in repo["jobs"]}
    (schedule,) = repo["schedules"]
    assert schedule["name"] == "daily_warehouse_schedule"
    assert (schedule["cronSchedule"], schedule["executionTimezone"]) == ("15 4 * * *",
                                                                         "Europe/Berlin")
    assert schedule["scheduleState"]["status"] == "RUNNING"
    # 04:15 in Berlin on 1 July is 02:15 UTC (CEST, UTC+2)
    tick = schedule["futureTicks"]["results"][0]["timestamp"]
    assert datetime.fromtimestamp(tick, UTC) == datetime(2026, 7, 1, 2, 15, tzinfo=UTC)
    (sensor,) = repo["sensors"]
    assert sensor["name"] == "seeds_sensor" and sensor["sensorState"]["status"] == "RUNNING"
