"""The retry policy and token handling, over real HTTP against the sandbox."""

import dataclasses
import threading
import time
from typing import Any

import pytest
import requests

from support_assets.resources import SupportApiResource
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets.source.contract import RetryPolicy
from support_assets.source.errors import RetryAfterTooLong, SupportApiError
from support_assets.source.session import RetryingSession
from support_assets.source.telemetry import Telemetry
from support_assets_tests.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    COMMENTS,
    TICKETS,
    failure_message,
    materialize,
    pages_for,
    table_exists,
    warehouse_rows,
)

FAST = RetryPolicy(backoff_factor=0.01, max_wait=30.0)


class SleepLog:
    """Records the waits the policy chose instead of sleeping through them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def session_for(sandbox: SandboxServer, policy: RetryPolicy = FAST) -> tuple[Any, SleepLog]:
    connection = SupportApiResource(
        base_url=sandbox.url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    ).connect(Settings(retry=policy))
    sleeps = SleepLog()
    connection.session._sleep = sleeps
    return connection, sleeps


def get_page(connection: Any, offset: int = 0, **params: Any) -> requests.Response:
    return connection.session.get(
        f"{connection.base_url}/v1/tickets",
        params={"offset": offset, "limit": 100, **params},
        headers={"Authorization": connection.auth.bearer()},
    )


def data_requests(stats: dict[str, Any], path: str = "GET /v1/tickets") -> dict[str, int]:
    return stats["requests"].get(path, {})


def test_rate_limits_and_5xx_bursts_deliver_everything_within_four_attempts(
    api_env: SandboxServer, settings: Settings
) -> None:
    api_env.set_faults(
        {"name": "rate_limit", "ratio": 0.3, "retry_after": 0},
        {"name": "server_errors", "ratio": 0.3},
    )

    result = materialize(settings)

    assert result.success
    stats = api_env.stats()
    injected = sum(stats["faults_injected"].values())
    assert injected > 0
    pages = stats["pages_served"]
    assert pages == {"tickets": pages_for(TICKETS), "comments": pages_for(COMMENTS)}
    # Every injected failure was retried exactly once: requests = pages + faults (+ token).
    data_calls = sum(
        sum(data_requests(stats, path).values())
        for path in ("GET /v1/tickets", "GET /v1/ticket_comments")
    )
    assert data_calls == pages["tickets"] + pages["comments"] + injected
    counts = warehouse_rows(
        settings,
        "select (select count(distinct id) from support.support_tickets), "
        "(select count(distinct id) from support.ticket_comments)",
    )
    assert counts == [(TICKETS, COMMENTS)]


def test_server_error_that_persists_fails_after_four_attempts_naming_the_request(
    api_env: SandboxServer,
) -> None:
    api_env.set_faults({"name": "server_errors", "ratio": 1.0})
    connection, sleeps = session_for(api_env, dataclasses.replace(FAST, max_retries=1))

    with pytest.raises(SupportApiError, match=r"HTTP 50\d after 2 attempts on GET /v1/tickets"):
        get_page(connection)

    assert len(sleeps.waits) == 1


def test_bad_request_is_not_retried(api_env: SandboxServer) -> None:
    connection, sleeps = session_for(api_env)

    response = get_page(connection, limit=101)

    assert response.status_code == 400
    assert sleeps.waits == []
    assert data_requests(api_env.stats()) == {"400": 1}


@pytest.mark.parametrize("retry_after", [0, 2], ids=["zero", "two-seconds"])
def test_retry_after_is_never_undercut_and_zero_still_backs_off(
    api_env: SandboxServer, retry_after: int
) -> None:
    api_env.set_faults({"name": "rate_limit", "ratio": 1.0, "retry_after": retry_after})
    connection, sleeps = session_for(api_env)

    for offset in range(0, 300, 100):
        assert get_page(connection, offset).status_code == 200

    retries = list(connection.telemetry.recent_retries)
    assert len(retries) == api_env.stats()["faults_injected"]["rate_limit"] == len(sleeps.waits)
    for cause, header, waited in retries:
        assert cause == "429" and header is not None
        if header.isdigit():
            assert waited >= max(int(header), FAST.backoff(1))
        else:  # the HTTP-date form, at whole-second resolution
            assert waited >= retry_after - 1
        assert waited > 0
    assert connection.telemetry.rate_limited == len(retries)


def test_retry_after_longer_than_the_maximum_wait_fails_instead_of_retrying_early(
    api_env: SandboxServer,
) -> None:
    api_env.set_faults({"name": "rate_limit", "ratio": 1.0, "retry_after": 120})
    connection, sleeps = session_for(api_env, dataclasses.replace(FAST, max_wait=10))

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


@pytest.mark.parametrize(
    "fault",
    [
        [{"name": "token_revoke", "every": 2}],
        # Pages take at least 9 x 0.1 s, so tokens living 0.3 s must die mid-run.
        [{"name": "token_early_expiry", "lifetime": 0.3}, {"name": "slow", "delay": 0.1}],
    ],
    ids=["revoked-mid-run", "dies-before-expires_in"],
)
def test_tokens_that_die_mid_run_are_replaced_and_the_load_completes(
    api_env: SandboxServer, settings: Settings, fault: list[dict[str, Any]]
) -> None:
    api_env.set_faults(*fault)

    result = materialize(settings)

    assert result.success
    stats = api_env.stats()
    assert stats["token_grants"] > 1
    assert warehouse_rows(settings, "select count(distinct id) from support.support_tickets") == [
        (TICKETS,)
    ]


def test_wrong_secret_fails_clearly_and_writes_nothing(
    api_env: SandboxServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORT_API_CLIENT_SECRET", "not-the-secret")

    result = materialize(settings)

    assert not result.success
    message = failure_message(result)
    assert f"credentials rejected by {api_env.token_url}" in message
    assert "SUPPORT_API_CLIENT_SECRET" in message
    assert "not-the-secret" not in message
    assert not table_exists(settings, "support_tickets")


def test_missing_variable_fails_the_run_naming_it(
    api_env: SandboxServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SUPPORT_API_CLIENT_SECRET")

    with pytest.raises(Exception, match="SUPPORT_API_CLIENT_SECRET"):
        materialize(settings, raise_on_error=True)


@pytest.mark.parametrize(
    ("setting", "url"),
    [
        ("SUPPORT_API_TOKEN_URL", "http://auth.example.com/oauth/token"),
        ("SUPPORT_API_BASE_URL", "http://desk.example.com"),
    ],
    ids=["token-url", "base-url"],
)
def test_plain_http_off_loopback_is_refused_before_any_request(
    api_env: SandboxServer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
    url: str,
) -> None:
    monkeypatch.setenv(setting, url)
    if setting == "SUPPORT_API_TOKEN_URL":
        settings = dataclasses.replace(settings, token_url=url)

    result = materialize(settings)

    assert not result.success
    assert f"{setting}={url!r} uses http:// off loopback" in failure_message(result)
    assert api_env.stats()["requests"] == {}


def test_a_token_refused_twice_fails_naming_the_token_url(
    api_env: SandboxServer, settings: Settings
) -> None:
    # Tokens are dead on arrival, however fast the client: the one retry with a fresh token
    # fails too. (A lifetime of 1 ms was not enough: a fast machine used its token in time.)
    api_env.set_faults({"name": "token_early_expiry", "lifetime": 0})

    result = materialize(settings)

    assert not result.success
    message = failure_message(result)
    assert "credentials rejected: GET /v1/" in message
    assert f"by {api_env.token_url} (HTTP 401 twice)" in message
    assert not table_exists(settings, "support_tickets")


def test_a_duckdb_file_named_like_the_dataset_is_refused(settings: Settings) -> None:
    from support_assets.pipeline import destination_of

    clash = dataclasses.replace(settings, duckdb_path="data/support.duckdb")

    with pytest.raises(ValueError, match="ambiguous catalog"):
        destination_of(clash)


def test_a_401_for_a_token_the_other_thread_replaced_repeats_with_the_replacement(
    api_env: SandboxServer,
) -> None:
    connection, _ = session_for(api_env)
    auth = connection.auth
    first = auth.bearer()
    api_env.revoke_tokens()
    # The 401 to the revoked token takes 2 s to come back, long enough for the other
    # resource's thread to act meanwhile.
    api_env.set_faults({"name": "slow", "delay": 2.0, "unauthorized": 1})
    page: dict[str, Any] = {}
    one_resource = threading.Thread(target=lambda: page.update(response=get_page(connection)))
    one_resource.start()
    deadline = time.monotonic() + 30
    while not api_env.stats()["faults_injected"] and time.monotonic() < deadline:
        time.sleep(0.01)
    # The other thread meets its own 401 first and replaces the token, and the vendor's
    # next rotation revokes that replacement too, before this page's 401 comes back.
    auth.invalidate(first)
    assert auth.bearer() != first
    api_env.revoke_tokens()
    one_resource.join(timeout=60)

    assert page["response"].status_code == 200
    assert data_requests(api_env.stats()) == {"401": 2, "200": 1}
    assert api_env.stats()["token_grants"] == 3
    assert connection.telemetry.token_recoveries == 2


def test_a_request_that_times_out_is_retried_then_reported(api_env: SandboxServer) -> None:
    api_env.set_faults({"name": "slow", "delay": 1.0})
    connection, sleeps = session_for(api_env, dataclasses.replace(FAST, request_timeout=0.2))

    with pytest.raises(SupportApiError, match="ReadTimeout after 4 attempts on GET /v1/tickets"):
        get_page(connection)

    assert len(sleeps.waits) == 3
    assert dict(connection.telemetry.retries_by_status) == {"ReadTimeout": 3}
    # The server answers the four abandoned requests late: wait for them, so that they
    # do not land in the next test's stats.
    deadline = time.monotonic() + 30
    while sum(data_requests(api_env.stats()).values()) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert data_requests(api_env.stats()) == {"200": 4}


@pytest.mark.parametrize(("burst", "delivered"), [(3, True), (4, False)], ids=["3-fail", "4-fail"])
def test_the_default_policy_makes_four_attempts_backing_off_by_a_factor_of_two(
    api_env: SandboxServer, burst: int, delivered: bool
) -> None:
    api_env.set_faults({"name": "server_errors", "ratio": 1.0, "burst": burst})
    connection, sleeps = session_for(api_env, Settings.from_env({}).retry)

    if delivered:
        assert get_page(connection).status_code == 200
    else:
        with pytest.raises(SupportApiError, match=r"HTTP 50\d after 4 attempts"):
            get_page(connection)

    assert sum(data_requests(api_env.stats()).values()) == 4
    assert api_env.stats()["faults_injected"] == {"server_errors": min(burst, 4)}
    assert sleeps.waits == [2.0, 4.0, 8.0]


def test_a_token_is_renewed_a_margin_before_it_expires(api_env: SandboxServer) -> None:
    api_env.reset(token_ttl=4)
    connection = SupportApiResource(
        base_url=api_env.url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    ).connect(Settings(retry=FAST, token_refresh_margin=60))
    first = connection.auth.bearer()

    # A 4 s token renews with half its life left (the margin, at most half the lifetime).
    deadline = time.monotonic() + 30
    while connection.auth.bearer() == first and time.monotonic() < deadline:
        time.sleep(0.05)

    assert connection.auth.bearer() != first
    # The old token still opens the API: the client let go of it before the server did.
    old = requests.get(
        f"{api_env.url}/v1/tickets", params={"limit": 1}, headers={"Authorization": first}
    )
    assert old.status_code == 200


def test_a_token_response_without_access_token_fails_before_any_bearer_none(
    api_env: SandboxServer, settings: Settings
) -> None:
    api_env.set_faults("no_access_token")

    result = materialize(settings)

    assert not result.success
    message = failure_message(result)
    assert f"the token response from {api_env.token_url} has no access_token" in message
    assert "SUPPORT_API_TOKEN_URL" in message
    stats = api_env.stats()
    assert stats["faults_injected"] == {"no_access_token": 1}
    assert data_requests(stats) == {}
    assert data_requests(stats, "GET /v1/ticket_comments") == {}
