"""Retries and tokens end to end: whole loads through Dagster against the sandbox.

The session's and the OAuth helper's own tests are with the tests of the source's modules.
"""

import dataclasses
from typing import Any

import pytest

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import (
    COMMENTS,
    TICKETS,
    failure_message,
    materialize,
    pages_for,
    table_exists,
    warehouse_rows,
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
