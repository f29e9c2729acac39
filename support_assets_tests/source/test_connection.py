"""One run's connection: built without I/O, refusing unsafe URLs, ending windows by the desk."""

import datetime as dt

import pytest

from support_assets.sandbox import SandboxServer
from support_assets.source.connection import connect, token_url_of
from support_assets.source.contract import ApiNames, RetryPolicy
from support_assets.source.timestamps import second_after
from support_assets_tests.helpers import CLIENT_ID, CLIENT_SECRET


@pytest.mark.parametrize(
    ("setting", "base_url", "token_url"),
    [
        ("SUPPORT_API_BASE_URL", "http://desk.example.com", "{sandbox}/oauth/token"),
        ("SUPPORT_API_TOKEN_URL", "{sandbox}", "http://auth.example.com/oauth/token"),
    ],
    ids=["base-url", "token-url"],
)
def test_plain_http_off_loopback_is_refused_before_any_request(
    sandbox: SandboxServer, setting: str, base_url: str, token_url: str
) -> None:
    base_url = base_url.format(sandbox=sandbox.url)
    token_url = token_url.format(sandbox=sandbox.url)
    refused = base_url if setting == "SUPPORT_API_BASE_URL" else token_url

    with pytest.raises(ValueError) as raised:
        connect(base_url, CLIENT_ID, CLIENT_SECRET, token_url=token_url)

    assert str(raised.value) == (
        f"{setting}={refused!r} uses http:// off loopback: credentials and tokens would cross "
        "the network in clear text. Use https://."
    )
    # The other URL is the sandbox's: not even a token was asked for.
    assert sandbox.stats()["requests"] == {}


def test_connecting_sends_nothing_and_wires_one_session_token_and_telemetry(
    sandbox: SandboxServer,
) -> None:
    policy = RetryPolicy(max_retries=1)

    connection = connect(
        sandbox.url + "/",
        CLIENT_ID,
        CLIENT_SECRET,
        retry=policy,
        token_refresh_margin=5.0,
        window_pages=7,
        max_rereads=2,
        arrow_pages=False,
        window_lag=3,
    )

    assert sandbox.stats()["requests"] == {}
    assert connection.base_url == sandbox.url
    auth, session, telemetry = connection.auth, connection.session, connection.telemetry
    assert auth.access_token_url == sandbox.token_url
    assert (auth.client_id, str(auth.client_secret)) == (CLIENT_ID, CLIENT_SECRET)
    assert auth.refresh_margin == 5.0
    # The token comes through the run's session (retried, counted), which renews it on a 401.
    assert auth.session is session and session.tokens is auth
    assert session.telemetry is telemetry and auth.telemetry is telemetry
    assert session.policy == policy
    assert (connection.window_pages, connection.max_rereads) == (7, 2)
    assert (connection.arrow_pages, connection.window_lag) == (False, 3)


@pytest.mark.parametrize(
    ("base_url", "token_url", "api", "expected"),
    [
        ("https://desk.example.com", "", ApiNames(), "https://desk.example.com/oauth/token"),
        ("https://desk.example.com/", "", ApiNames(), "https://desk.example.com/oauth/token"),
        (
            "https://desk.example.com/api",
            "",
            ApiNames(token_path="/v2/token"),
            "https://desk.example.com/api/v2/token",
        ),
        (
            "https://desk.example.com",
            "https://login.example.com/token",
            ApiNames(),
            "https://login.example.com/token",
        ),
    ],
    ids=["derived", "trailing-slash", "vendor-token-path", "configured-wins"],
)
def test_the_token_url_is_the_configured_one_or_the_base_url_and_the_token_path(
    base_url: str, token_url: str, api: ApiNames, expected: str
) -> None:
    assert token_url_of(base_url, token_url, api) == expected


def test_the_window_ends_by_the_desks_clock_read_from_the_token_response(
    sandbox: SandboxServer,
) -> None:
    # The desk's clock is a day behind ours.
    sandbox.set_faults({"name": "desk_clock", "offset": -86_400})
    connection = connect(sandbox.url, CLIENT_ID, CLIENT_SECRET)
    connection.session.hooks["response"].append(connection.clock.observe)  # as the source does
    ours: list[dt.datetime] = []

    def our_clock() -> dt.datetime:
        ours.append(dt.datetime.now(dt.UTC))
        return ours[-1]

    connection.now = our_clock

    end = connection.window_end()

    assert sandbox.stats()["requests"] == {"POST /oauth/token": {"200": 1}}
    desk = connection.clock.date
    assert desk is not None and end == second_after(desk)
    behind = dt.datetime.now(dt.UTC) - desk
    assert dt.timedelta(hours=23, minutes=59) < behind < dt.timedelta(days=1, minutes=1)
    assert ours == [], "our clock is not read when the desk sent its own"
