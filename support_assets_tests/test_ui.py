"""The Dagster UI, proven for real: dagster-webserver, its GraphQL API, headless Chromium."""

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from support_assets.sandbox import SandboxServer
from support_assets_tests.helpers import (
    dagster_env,
    free_port,
    require_service,
    stop_processes,
    today,
    venv_bin,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1440,900",
    "--virtual-time-budget=20000",
]
pytestmark = pytest.mark.slow

REPOSITORY_QUERY = """
{ repositoriesOrError { ... on RepositoryConnection { nodes {
    name location { name }
    jobs { name } schedules { name } sensors { name }
    assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks { name } } } }
} } } }
"""
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchPipelineExecution(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
RUN_STATUS = """
query Run($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }
"""


@pytest.fixture
def webserver(sandbox: SandboxServer, tmp_path: Path) -> Iterator[str]:
    """dagster-webserver on a free loopback port, runs launched at once (no queue)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "run_coordinator:\n  module: dagster._core.run_coordinator\n"
        "  class: DefaultRunCoordinator\ntelemetry:\n  enabled: false\nnux:\n  enabled: false\n"
    )
    port = free_port()
    env = dagster_env(sandbox, tmp_path)
    log = (tmp_path / "webserver.log").open("w")
    process = subprocess.Popen(
        [
            venv_bin("dagster-webserver"),
            "-w",
            str(ROOT / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert process.poll() is None, (tmp_path / "webserver.log").read_text()[-3000:]
        try:
            return requests.get(f"{url}/server_info", timeout=2).ok
        except requests.ConnectionError:
            return False

    try:
        wait_for("dagster-webserver to answer", answers, 120, tmp_path / "webserver.log")
        yield url
    finally:
        stop_processes(process, timeout=30)
        log.close()


def graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = requests.post(
        f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
    )
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        require_service("Chromium", "install Debian's chromium (make test does it as root)")
    assert binary is not None
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ui_lists_everything_materializes_and_renders(
    webserver: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    nodes = graphql(webserver, REPOSITORY_QUERY)["repositoriesOrError"]["nodes"]
    (repo,) = nodes
    assert repo["location"]["name"] == "support_assets.definitions"
    jobs = {"support_refresh_job", "support_full_refresh_job", "support_reconcile_job"}
    assert {j["name"] for j in repo["jobs"]} >= jobs
    schedules = {"support_refresh_schedule", "support_reconcile_schedule"}
    assert {s["name"] for s in repo["schedules"]} == schedules
    assert len(repo["sensors"]) >= 2
    assets = {tuple(a["assetKey"]["path"]): a for a in repo["assetNodes"]}
    assert set(assets) == {("support_tickets",), ("ticket_comments",)}
    checks = {c["name"] for c in assets[("support_tickets",)]["assetChecksOrError"]["checks"]}
    assert {"id_is_unique", "is_fresh", "matches_api_total"} <= checks

    # What the UI's "Materialize" button sends: the implicit asset job, today's partition.
    params = {
        "mode": "default",
        "runConfigData": "{}",
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": today()}]},
        "selector": {
            "repositoryLocationName": repo["location"]["name"],
            "repositoryName": repo["name"],
            "pipelineName": "__ASSET_JOB",
            "assetSelection": [{"path": ["support_tickets"]}, {"path": ["ticket_comments"]}],
        },
    }
    launched = graphql(webserver, LAUNCH, {"params": params})["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + 180
    status = ""
    while time.monotonic() < deadline:
        status = graphql(webserver, RUN_STATUS, {"runId": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(0.5)
    assert status == "SUCCESS"

    ARTIFACTS.mkdir(exist_ok=True)
    pages = {
        "asset-graph": f"{webserver}/asset-groups/support/lineage",
        "materialization": f"{webserver}/assets/support_tickets?view=events",
    }
    for name, page in pages.items():
        shot = ARTIFACTS / f"{name}.png"
        shot.unlink(missing_ok=True)
        result = chromium(f"--screenshot={shot}", page, profile=tmp_path / f"profile-{name}")
        assert shot.exists() and shot.stat().st_size > 20_000, result.stderr[-2000:]
        dom = chromium("--dump-dom", page, profile=tmp_path / f"dom-{name}").stdout
        assert "support_tickets" in dom
    (ARTIFACTS / "ui-run.json").write_text(json.dumps({"run_id": run_id, "status": status}))
