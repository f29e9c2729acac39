"""The retrying session: the retry policy, Retry-After, timeouts and revoked tokens, over HTTP."""

import dataclasses
import datetime as dt
import threading
import time
from typing import Any

import pytest
import requests

from support_assets.sandbox import SandboxServer
from support_assets.source.connection import Connection, connect
from support_assets.source.contract import DEFAULT_RETRY, RetryPolicy
from support_assets.source.errors import RetryAfterTooLong, SupportApiError
from support_assets.source.session import RetryingSession, describe, parse_retry_after
from support_assets.source.telemetry import Telemetry
from support_assets_tests.helpers import CLIENT_ID, CLIENT_SECRET

FAST = RetryPolicy(backoff_factor=0.01, max_wait=30.0)


class SleepLog:
    """Records the waits the policy chose instead of sleeping through them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def session_for(sandbox: SandboxServer, policy: RetryPolicy = FAST) -> tuple[Connection, SleepLog]:
    connection = connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, retry=policy)
    sleeps = SleepLog()
    connection.session._sleep = sleeps
    return connection, sleeps


def get_page(connection: Connection, offset: int = 0, **params: Any) -> requests.Response:
    return connection.session.get(
        f"{connection.base_url}/v1/tickets",
        params={"offset": offset, "limit": 100, **params},
        headers={"Authorization": connection.auth.bearer()},
    )


# 2026-06-30 12:00:00 UTC, as the clock `parse_retry_after` compares an HTTP-date with.
NOON = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Tue, 30 Jun 2026 12:01:30 GMT", 90.0),
        ("Tue, 30 Jun 2026 11:59:00 GMT", 0.0),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
    ids=[
        "delta-seconds",
        "padded",
        "http-date-ahead",
        "http-date-past-is-zero",
        "negative",
        "fraction",
        "word",
        "empty",
        "absent",
    ],
)
def test_retry_after_is_read_as_delta_seconds_or_an_http_date(
    header: str | None, seconds: float | None
) -> None:
    assert parse_retry_after(header, now=NOON) == seconds


@pytest.mark.parametrize(
    ("method", "url", "described"),
    [
        (
            "GET",
            "http://desk.test/v1/tickets?offset=300&limit=100",
            "GET /v1/tickets?offset=300&limit=100",
        ),
        ("POST", "http://desk.test/oauth/token", "POST /oauth/token"),
        (
            "GET",
            "http://desk.test/v1/tickets?api_key=k-93f1&offset=0",
            "GET /v1/tickets?api_key=[redacted]&offset=0",
        ),
        # An encoded `&` inside a secret cannot split it: redacted before unquoting.
        (
            "GET",
            "http://desk.test/v1/tickets?token=a%26b%3Dc&limit=1",
            "GET /v1/tickets?token=[redacted]&limit=1",
        ),
        ("GET", "http://desk.test/v1/tickets?q=a%20b", "GET /v1/tickets?q=a b"),
    ],
    ids=["page", "no-query", "secret-parameter", "encoded-secret", "unquoted"],
)
def test_a_request_is_described_by_method_path_and_query_without_host_or_secrets(
    method: str, url: str, described: str
) -> None:
    assert describe(requests.Request(method, url).prepare()) == described


def test_a_configured_secret_in_a_request_is_not_described(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUPPORT_API_CLIENT_SECRET", "canary-0042")
    request = requests.Request("GET", "http://desk.test/v1/canary-0042?q=canary-0042").prepare()

    assert describe(request) == "GET /v1/[redacted]?q=[redacted]"


def data_requests(stats: dict[str, Any], path: str = "GET /v1/tickets") -> dict[str, int]:
    return stats["requests"].get(path, {})


def test_server_error_that_persists_fails_after_four_attempts_naming_the_request(
    sandbox: SandboxServer,
) -> None:
    sandbox.set_faults({"name": "server_errors", "ratio": 1.0})
    connection, sleeps = session_for(sandbox, dataclasses.replace(FAST, max_retries=1))

    with pytest.raises(SupportApiError, match=r"HTTP 50\d after 2 attempts on GET /v1/tickets"):
        get_page(connection)

    assert len(sleeps.waits) == 1


def test_bad_request_is_not_retried(sandbox: SandboxServer) -> None:
    connection, sleeps = session_for(sandbox)

    response = get_page(connection, limit=101)

    assert response.status_code == 400
    assert sleeps.waits == []
    assert data_requests(sandbox.stats()) == {"400": 1}


@pytest.mark.parametrize("retry_after", [0, 2], ids=["zero", "two-seconds"])
def test_retry_after_is_never_undercut_and_zero_still_backs_off(
    sandbox: SandboxServer, retry_after: int
) -> None:
    sandbox.set_faults({"name": "rate_limit", "ratio": 1.0, "retry_after": retry_after})
    connection, sleeps = session_for(sandbox)

    for offset in range(0, 300, 100):
        assert get_page(connection, offset).status_code == 200

    retries = list(connection.telemetry.recent_retries)
    assert len(retries) == sandbox.stats()["faults_injected"]["rate_limit"] == len(sleeps.waits)
    for cause, header, waited in retries:
        assert cause == "429" and header is not None
        if header.isdigit():
            assert waited >= max(int(header), FAST.backoff(1))
        else:  # the HTTP-date form, at whole-second resolution
            assert waited >= retry_after - 1
        assert waited > 0
    assert connection.telemetry.rate_limited == len(retries)


def test_retry_after_longer_than_the_maximum_wait_fails_instead_of_retrying_early(
    sandbox: SandboxServer,
) -> None:
    sandbox.set_faults({"name": "rate_limit", "ratio": 1.0, "retry_after": 120})
    connection, sleeps = session_for(sandbox, dataclasses.replace(FAST, max_wait=10))

    with pytest.raises(RetryAfterTooLong, match=r"Retry-After 120s.*SUPPORT_MAX_RETRY_WAIT"):
        get_page(connection)

    assert sleeps.waits == []


def test_connection_refused_is_retried_then_reported(sandbox: SandboxServer) -> None:
    telemetry = Telemetry()
    sleeps = SleepLog()
    session = RetryingSession(FAST, telemetry, sleep=sleeps)

    with pytest.raises(SupportApiError, match="ConnectionError after 4 attempts on GET /nowhere"):
        session.get("http://127.0.0.1:9/nowhere")

    assert len(sleeps.waits) == 3
    assert telemetry.retries_by_status["ConnectionError"] == 3


def test_a_401_for_a_token_the_other_thread_replaced_repeats_with_the_replacement(
    sandbox: SandboxServer,
) -> None:
    connection, _ = session_for(sandbox)
    auth = connection.auth
    first = auth.bearer()
    sandbox.revoke_tokens()
    # The 401 to the revoked token takes 2 s to come back, long enough for the other
    # resource's thread to act meanwhile.
    sandbox.set_faults({"name": "slow", "delay": 2.0, "unauthorized": 1})
    page: dict[str, Any] = {}
    one_resource = threading.Thread(target=lambda: page.update(response=get_page(connection)))
    one_resource.start()
    deadline = time.monotonic() + 30
    while not sandbox.stats()["faults_injected"] and time.monotonic() < deadline:
        time.sleep(0.01)
    # The other thread meets its own 401 first and replaces the token, and the vendor's
    # next rotation revokes that replacement too, before this page's 401 comes back.
    auth.invalidate(first)
    assert auth.bearer() != first
    sandbox.revoke_tokens()
    one_resource.join(timeout=60)

    assert page["response"].status_code == 200
    assert data_requests(sandbox.stats()) == {"401": 2, "200": 1}
    assert sandbox.stats()["token_grants"] == 3
    assert connection.telemetry.token_recoveries == 2


def test_a_request_that_times_out_is_retried_then_reported(sandbox: SandboxServer) -> None:
    sandbox.set_faults({"name": "slow", "delay": 1.0})
    connection, sleeps = session_for(sandbox, dataclasses.replace(FAST, request_timeout=0.2))

    with pytest.raises(SupportApiError, match="ReadTimeout after 4 attempts on GET /v1/tickets"):
        get_page(connection)

    assert len(sleeps.waits) == 3
    assert dict(connection.telemetry.retries_by_status) == {"ReadTimeout": 3}
    # The server answers the four abandoned requests late: wait for them, so that they
    # do not land in the next test's stats.
    deadline = time.monotonic() + 30
    while sum(data_requests(sandbox.stats()).values()) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert data_requests(sandbox.stats()) == {"200": 4}


@pytest.mark.parametrize(("burst", "delivered"), [(3, True), (4, False)], ids=["3-fail", "4-fail"])
def test_the_default_policy_makes_four_attempts_backing_off_by_a_factor_of_two(
    sandbox: SandboxServer, burst: int, delivered: bool
) -> None:
    sandbox.set_faults({"name": "server_errors", "ratio": 1.0, "burst": burst})
    connection, sleeps = session_for(sandbox, DEFAULT_RETRY)

    if delivered:
        assert get_page(connection).status_code == 200
    else:
        with pytest.raises(SupportApiError, match=r"HTTP 50\d after 4 attempts"):
            get_page(connection)

    assert sum(data_requests(sandbox.stats()).values()) == 4
    assert sandbox.stats()["faults_injected"] == {"server_errors": min(burst, 4)}
    assert sleeps.waits == [2.0, 4.0, 8.0]


def answered(status: int, headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    return response


@pytest.mark.parametrize(
    ("headers", "names", "expected"),
    [
        ({"Retry-After": "7"}, ("Retry-After",), "7"),
        # Help Scout's own header, tried first; the standard one still counts after it.
        ({"X-RateLimit-Retry-After": "9"}, ("X-RateLimit-Retry-After", "Retry-After"), "9"),
        ({"Retry-After": "4"}, ("X-RateLimit-Retry-After", "Retry-After"), "4"),
        # A spent budget says when it resets, as a delay or as a Unix time.
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "30"}, ("Retry-After",), "30"),
        (
            {"RateLimit-Remaining": "0", "RateLimit-Reset": "1900000000"},
            ("Retry-After",),
            "1900000000",
        ),
        # A budget not yet spent says nothing about waiting.
        ({"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "30"}, ("Retry-After",), None),
    ],
    ids=[
        "retry-after",
        "desk-header",
        "desk-header-absent",
        "reset-seconds",
        "reset-epoch",
        "budget-left",
    ],
)
def test_the_wait_is_read_from_the_desks_rate_limit_headers(
    headers: dict[str, str], names: tuple[str, ...], expected: str | None
) -> None:
    session = RetryingSession(FAST, Telemetry(), retry_after_headers=names)

    assert session._retry_after(answered(429, headers)) == expected


def test_a_reset_given_as_a_unix_time_is_waited_until() -> None:
    assert parse_retry_after("1900000030", now=1_900_000_000.0) == 30.0
