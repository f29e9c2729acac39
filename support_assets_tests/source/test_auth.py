"""The OAuth2 helper: one token per run, renewed before it ends, failures naming the token URL."""

import time

import pytest
import requests

from support_assets.sandbox import SandboxServer
from support_assets.source.connection import connect
from support_assets.source.contract import RetryPolicy
from support_assets.source.errors import CredentialsRejected
from support_assets_tests.helpers import CLIENT_ID, CLIENT_SECRET

FAST = RetryPolicy(backoff_factor=0.01, max_wait=30.0)


def test_a_token_is_renewed_a_margin_before_it_expires(sandbox: SandboxServer) -> None:
    sandbox.reset(token_ttl=4)
    connection = connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, retry=FAST, token_refresh_margin=60)
    first = connection.auth.bearer()

    # A 4 s token renews with half its life left (the margin, at most half the lifetime).
    deadline = time.monotonic() + 30
    while connection.auth.bearer() == first and time.monotonic() < deadline:
        time.sleep(0.05)

    assert connection.auth.bearer() != first
    # The old token still opens the API: the client let go of it before the server did.
    old = requests.get(
        f"{sandbox.url}/v1/tickets", params={"limit": 1}, headers={"Authorization": first}
    )
    assert old.status_code == 200


def test_one_token_serves_every_request_until_it_nears_its_end(sandbox: SandboxServer) -> None:
    connection = connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, retry=FAST)

    bearers = {connection.auth.bearer() for _ in range(5)}

    assert len(bearers) == 1
    assert sandbox.stats()["token_grants"] == 1
    assert connection.telemetry.token_grants == 1


def test_a_wrong_secret_is_refused_naming_the_token_url_and_not_the_secret(
    sandbox: SandboxServer,
) -> None:
    connection = connect(sandbox.url, CLIENT_ID, "not-the-secret", retry=FAST)

    with pytest.raises(CredentialsRejected) as refused:
        connection.auth.bearer()

    message = str(refused.value)
    assert message == (
        f"credentials rejected by {sandbox.token_url} (HTTP 401, invalid_client). Check "
        "SUPPORT_API_CLIENT_ID and SUPPORT_API_CLIENT_SECRET."
    )
    assert "not-the-secret" not in message
    assert connection.telemetry.token_grants == 0
