"""Which hosts count as loopback, where plain http is allowed for credentials and alerts."""

import pytest

from support_assets.source.urls import is_loopback_host, require_safe_url, url_problem

WEBHOOK = "SUPPORT_ALERT_WEBHOOK_URL"

LOOPBACK = [
    ("http://localhost:8080/oauth/token", "localhost"),
    ("http://127.0.0.1:8080/oauth/token", "ipv4"),
    ("http://127.1.2.3/oauth/token", "ipv4-127/8"),
    ("http://[::1]:8080/oauth/token", "ipv6"),
    ("http://LOCALHOST/oauth/token", "localhost-uppercase"),
]
# Names and addresses that only look like loopback: plain http to them crosses a network.
NEAR_MISSES = [
    ("http://127.attacker.example/oauth/token", "127-prefixed-name"),
    ("http://127.0.0.1.nip.io/oauth/token", "127-dotted-name"),
    ("http://localhost.attacker.example/oauth/token", "localhost-prefixed-name"),
    ("http://attacker-localhost/oauth/token", "localhost-suffixed-name"),
    ("http://128.0.0.1/oauth/token", "ipv4-128"),
    ("http://0.0.0.0/oauth/token", "unspecified"),
    ("http://[::ffff:127.0.0.1]/oauth/token", "ipv4-mapped-ipv6"),
    ("http://[::2]/oauth/token", "ipv6-not-loopback"),
    ("http://10.127.0.1/oauth/token", "private-with-127"),
]


@pytest.mark.parametrize("url", [u for u, _ in LOOPBACK], ids=[i for _, i in LOOPBACK])
def test_plain_http_to_loopback_is_allowed(url: str) -> None:
    assert require_safe_url(url, "SUPPORT_API_TOKEN_URL") == url
    assert url_problem(url, WEBHOOK, secret=True) == ""


@pytest.mark.parametrize("url", [u for u, _ in NEAR_MISSES], ids=[i for _, i in NEAR_MISSES])
def test_plain_http_to_a_host_that_only_looks_like_loopback_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"SUPPORT_API_TOKEN_URL=.* uses http:// off loopback"):
        require_safe_url(url, "SUPPORT_API_TOKEN_URL")
    problem = url_problem(url, WEBHOOK, secret=True)
    assert "uses http:// off loopback" in problem
    # A webhook's URL is its credential: the message names the setting, never the value.
    assert problem.startswith(f"{WEBHOOK} (its value is not shown: a secret)")
    assert url not in problem
    # https is fine everywhere: the loopback rule only decides where plain http may go.
    secure = url.replace("http://", "https://", 1)
    assert require_safe_url(secure, "SUPPORT_API_TOKEN_URL") == secure


@pytest.mark.parametrize("host", [None, "", "127", "localhost:80"], ids=str)
def test_hosts_that_are_not_addresses_are_not_loopback(host: str | None) -> None:
    assert not is_loopback_host(host)


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/hook", "desk.example.com/v1", "https:///no-host", ""],
    ids=["ftp", "no-scheme", "no-host", "empty"],
)
def test_a_value_that_is_not_an_http_url_is_refused_naming_the_setting(url: str) -> None:
    assert url_problem(url, "SUPPORT_API_BASE_URL") == (
        f"SUPPORT_API_BASE_URL={url!r} is not an http(s) URL"
    )
    assert url_problem(url, WEBHOOK, secret=True) == (
        f"{WEBHOOK} (its value is not shown: a secret) is not an http(s) URL"
    )


def test_a_safe_url_loses_its_trailing_slash() -> None:
    assert require_safe_url("https://desk.example.com/", "SUPPORT_API_BASE_URL") == (
        "https://desk.example.com"
    )
