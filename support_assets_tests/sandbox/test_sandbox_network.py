"""The faults of a desk over a network: latency that overlaps, and a real rate budget."""

import subprocess
import sys
import threading

import pytest
import requests

from support_assets.sandbox import SandboxServer
from support_assets.sandbox.client import SandboxError
from support_assets_tests.sandbox.sandbox_fixtures import Api

# Ten requests per one-second window: the window is shortened so no test waits a minute.
BUDGET = {"name": "rate_budget", "per_minute": 600, "window": 1}


def concurrently(api: Api, count: int) -> list[requests.Response]:
    """`count` requests at once, one thread (and one connection) each."""
    responses: list[requests.Response] = []
    lock = threading.Lock()
    token = api.session.headers["Authorization"]

    def one(offset: int) -> None:
        with requests.Session() as session:
            session.trust_env = False
            session.headers["Authorization"] = token
            url = f"{api.sandbox.url}/v1/tickets"
            response = session.get(url, params={"offset": offset, "limit": 5}, timeout=30)
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=one, args=(offset,)) for offset in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def test_latency_holds_requests_without_serializing_them(api: Api) -> None:
    api.sandbox.set_faults({"name": "latency", "ms": 300, "jitter_ms": 50})

    responses = concurrently(api, 6)

    assert [r.status_code for r in responses] == [200] * 6
    stats = api.sandbox.stats()
    # All six were being answered at once: a latency that blocked the loop would show 1.
    assert stats["max_in_flight"] == 6
    assert stats["faults_injected"] == {"latency": 6}
    held = [e for e in api.sandbox.request_log() if e["route"] == "GET /v1/tickets"]
    # Each was held its 300 ms, give or take the 50 ms of jitter, by the server's clock.
    assert len(held) == 6 and all(e["answered"] - e["arrived"] >= 0.25 for e in held)


def test_the_budget_refuses_the_eleventh_request_of_a_window_and_says_what_is_left(
    api: Api,
) -> None:
    # Ten a window, and a window long enough not to turn during the test.
    api.sandbox.set_faults({**BUDGET, "per_minute": 20, "window": 30})

    responses = [api.get("tickets", limit=1) for _ in range(12)]

    assert [r.status_code for r in responses] == [200] * 10 + [429] * 2
    assert [int(r.headers["X-RateLimit-Remaining"]) for r in responses] == [*range(9, -1, -1), 0, 0]
    assert {r.headers["X-RateLimit-Limit"] for r in responses} == {"10"}
    resets = [int(r.headers["X-RateLimit-Reset"]) for r in responses]  # whole seconds, up
    assert resets == sorted(resets, reverse=True) and 1 <= resets[-1] <= resets[0] <= 30
    for response in responses[10:]:
        assert response.headers["Retry-After"] == response.headers["X-RateLimit-Reset"]
        assert response.json() == {"error": "rate_limited"}
    stats = api.sandbox.stats()
    assert stats["rate_limited"] == 2 and stats["faults_injected"] == {"rate_budget": 2}
    assert stats["pages_served"]["tickets"] == 10


def test_the_budget_is_whole_again_when_its_window_turns(api: Api) -> None:
    api.sandbox.set_faults({**BUDGET, "per_minute": 120})  # two a one-second window

    statuses = [api.get("tickets", limit=1).status_code for _ in range(3)]
    assert statuses[-1] == 429 and statuses.count(200) >= 2
    while (response := api.get("tickets", limit=1)).status_code == 429:
        assert response.headers["Retry-After"] == "1"

    assert response.headers["X-RateLimit-Remaining"] == "1"


def test_a_hidden_budget_is_enforced_without_a_header(api: Api) -> None:
    api.sandbox.set_faults({**BUDGET, "per_minute": 6, "window": 30, "advertised": 0})

    responses = [api.get("tickets", limit=1) for _ in range(4)]

    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert int(responses[-1].headers["Retry-After"]) in range(1, 31)
    for response in responses:
        assert not [name for name in response.headers if "ratelimit" in name.lower()]


def test_the_budget_spares_the_token_endpoint_and_refused_requests(api: Api) -> None:
    api.sandbox.set_faults({**BUDGET, "per_minute": 2, "window": 30})
    assert api.get("tickets", limit=1).status_code == 200
    assert api.token().status_code == 200
    assert api.get("tickets", limit=101).status_code == 400
    assert api.get("tickets", limit=1).status_code == 429


def test_the_request_log_keeps_the_arrival_order(api: Api) -> None:
    for offset in (0, 10, 20):
        api.get("tickets", offset=offset, limit=10)
    log = api.sandbox.request_log()
    assert [entry["route"] for entry in log] == ["POST /oauth/token"] + ["GET /v1/tickets"] * 3
    assert [entry["status"] for entry in log] == [200] * 4
    arrived = [entry["arrived"] for entry in log]
    assert arrived == sorted(arrived) and all(e["answered"] >= e["arrived"] for e in log)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"name": "latency", "ms": -1}, "latency.ms"),
        ({"name": "rate_budget", "per_minute": 0}, "rate_budget.per_minute"),
        ({"name": "rate_budget", "advertised": 2}, "rate_budget.advertised"),
    ],
    ids=["negative-latency", "zero-budget", "advertised-not-a-flag"],
)
def test_bad_network_faults_are_refused_naming_the_parameter(
    api: Api, fault: dict, message: str
) -> None:
    with pytest.raises(SandboxError, match=message):
        api.sandbox.set_faults(fault)


def test_the_cli_flags_are_the_two_fault_profiles() -> None:
    command = [sys.executable, "-m", "support_assets.sandbox", "--port", "0", "--tickets", "5"]
    command += ["--comments", "5", "--latency-ms", "100", "--latency-jitter-ms", "20"]
    command += ["--rate-limit", "600/min", "--rate-limit-hidden"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as p:
        try:
            assert p.stdout is not None
            url = p.stdout.readline().split()[-1]
            health = requests.get(f"{url}/_sandbox/health", timeout=30).json()
        finally:
            p.terminate()
    assert health["faults"] == [
        {"name": "latency", "ms": 100.0, "jitter_ms": 20.0},
        {"name": "rate_budget", "per_minute": 600, "advertised": 0, "window": 60.0},
    ]


@pytest.mark.parametrize(
    "argv", [["--rate-limit", "fast"], ["--rate-limit-hidden"]], ids=["not-a-rate", "hidden-alone"]
)
def test_bad_cli_flags_fail_before_serving(argv: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "support_assets.sandbox", "--port", "0", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "rate-limit" in result.stderr


def test_a_sandbox_server_takes_the_profiles_as_faults() -> None:
    faults = ({"name": "rate_budget", "per_minute": 120, "window": 1},)
    with SandboxServer(tickets=5, comments=5, faults=faults) as server:
        assert server.health()["faults"][0]["per_minute"] == 120
