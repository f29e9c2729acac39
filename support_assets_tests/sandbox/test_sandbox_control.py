"""The sandbox's control API, stats, OpenAPI document and command line."""

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
import requests
import yaml

from support_assets.sandbox import SandboxError, SandboxServer
from support_assets.sandbox.app import SandboxApp
from support_assets.sandbox.state import Config, Sandbox
from support_assets_tests.sandbox.sandbox_fixtures import (
    ANCHOR,
    COMMENTS,
    TICKETS,
    Api,
    small_sandbox,
)


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[Api]:
    sandbox.reset()
    client = Api(sandbox)
    yield client
    client.close()


def test_stats_count_requests_grants_faults_pages_and_records(api: Api) -> None:
    api.login()
    api.get("tickets", limit=100)
    api.get("tickets", limit=50, offset=200)
    api.get("comments", limit=7)
    api.get("tickets", limit=101)
    api.session.get(api.sandbox.url + "/nowhere")
    api.session.headers.pop("Authorization")
    api.get("comments")
    api.token(auth=("sandbox-client", "wrong"))
    assert api.sandbox.stats() == {
        "requests": {
            "POST /oauth/token": {"200": 1, "401": 1},
            "GET /v1/tickets": {"200": 2, "400": 1},
            "GET /v1/ticket_comments": {"200": 1, "401": 1},
            "GET /nowhere": {"404": 1},
        },
        "token_grants": 1,
        "faults_injected": {},
        "records_served": {"tickets": 150, "comments": 7},
        "pages_served": {"tickets": 2, "comments": 1},
        "max_in_flight": 1,  # one request after the other
    }
    api.sandbox.reset_stats()
    assert api.sandbox.stats()["requests"] == {}


def test_reset_restores_the_constructor_values_and_drops_tokens(api: Api) -> None:
    sandbox = api.sandbox
    token = api.login()
    health = sandbox.reset(tickets=10, comments=20, token_ttl=5, faults=["slow"])
    assert (health["tickets"], health["comments"], health["token_ttl"]) == (10, 20, 5)
    assert [f["name"] for f in health["faults"]] == ["slow"]
    assert api.get("tickets").status_code == 401, f"token {token} survived the reset"
    health = sandbox.reset()
    assert (health["tickets"], health["comments"], health["token_ttl"]) == (
        TICKETS,
        COMMENTS,
        3600,
    )
    assert (health["faults"], health["anchor"]) == ([], ANCHOR)


def test_reset_with_other_credentials_changes_the_client(api: Api) -> None:
    api.sandbox.reset(client_id="other", client_secret="s3cr3t:with+odd%chars")
    assert api.token().status_code == 401
    assert api.token(auth=("other", "s3cr3t:with+odd%chars")).status_code == 200


@pytest.mark.parametrize(
    "changes",
    [{"tickets": -1}, {"token_ttl": 0}, {"anchor": "today"}, {"colour": "blue"}],
    ids=["negative_tickets", "zero_ttl", "bad_anchor", "unknown_field"],
)
def test_bad_resets_are_refused_and_keep_the_data(api: Api, changes: dict) -> None:
    before = api.sandbox.truth("tickets")
    with pytest.raises((SandboxError, TypeError)):
        api.sandbox.reset(**changes)
    assert api.sandbox.truth("tickets") == before


def test_control_api_refuses_clients_that_are_not_on_loopback() -> None:
    app = SandboxApp(Sandbox(Config(tickets=3, comments=3)), "http://127.0.0.1:1")

    async def call(client: tuple[str, int]) -> int:
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
            return (await http.get("/_sandbox/stats")).status_code

    assert asyncio.run(call(("192.0.2.7", 5000))) == 403
    assert asyncio.run(call(("::1", 5000))) == 200


@pytest.mark.parametrize("path", ["/openapi.yaml", "/openapi.json"])
def test_openapi_document_is_served_with_the_live_url(api: Api, path: str) -> None:
    response = api.session.get(api.sandbox.url + path)
    assert response.status_code == 200
    spec = response.json() if path.endswith("json") else yaml.safe_load(response.text)
    assert spec["servers"] == [{"url": api.sandbox.url}]
    assert set(spec["paths"]) == {"/oauth/token", "/v1/tickets", "/v1/ticket_comments"}


def test_unknown_paths_and_methods_get_json_errors(api: Api) -> None:
    api.login()
    missing = api.session.get(api.sandbox.url + "/v2/tickets")
    wrong_method = api.session.post(api.sandbox.url + "/v1/tickets")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert (wrong_method.status_code, wrong_method.json()["error"]) == (405, "method_not_allowed")


def _start(*args: str) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "support_assets.sandbox", "--port", "0", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, process.stdout.readline()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_cli_prints_one_url_line_and_stops_cleanly_on_a_signal(signum: int) -> None:
    process, line = _start("--tickets", "5", "--comments", "5", "--seed", "1")
    try:
        assert line.startswith("Support API sandbox on http://127.0.0.1:")
        url = line.split()[-1]
        health = requests.get(url + "/_sandbox/health", timeout=5).json()
        assert (health["tickets"], health["comments"], health["seed"]) == (5, 5, 1)
        process.send_signal(signum)
        stdout, _ = process.communicate(timeout=15)
    finally:
        process.kill()
    assert (process.returncode, stdout) == (0, "")


def test_cli_accepts_faults_with_parameters() -> None:
    with small_sandbox(faults=("rate_limit", {"name": "slow", "delay": 0.01})) as server:
        assert server.health()["faults"] == [
            {"name": "rate_limit", "ratio": 0.3, "retry_after": 1, "burst": 0},
            {"name": "slow", "delay": 0.01, "unauthorized": 0},
        ]


@pytest.mark.parametrize(
    "args",
    [["--faults", "earthquake"], ["--faults", "slow:delay=fast"], ["--tickets", "-5"]],
    ids=["unknown_fault", "bad_fault_parameter", "negative_tickets"],
)
def test_cli_refuses_bad_arguments_with_status_2(args: list[str]) -> None:
    process, line = _start(*args)
    _, stderr = process.communicate(timeout=15)
    assert (process.returncode, line) == (2, "")
    assert "error:" in stderr


def test_server_that_cannot_bind_reports_why() -> None:
    with small_sandbox() as first:
        port = int(first.url.rsplit(":", 1)[1])
        with pytest.raises(SandboxError, match="Address already in use"):
            SandboxServer(tickets=1, comments=1, port=port).start()
