"""Which URLs may carry credentials: https, or plain http to this machine only.

One rule for the desk's URLs and the alert webhook alike. A prefix test would pass
`127.attacker.example`, a name anyone can register, and plain http to it would carry the
credentials across the network; so the host is parsed as an address.
"""

import ipaddress
from urllib.parse import urlsplit


def is_loopback_host(host: str | None) -> bool:
    """Whether a URL's host is this machine: `localhost`, IPv4 127/8 or `::1`, parsed."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str, setting: str, secret: bool = False) -> str:
    """Why `url` may not carry credentials, naming `setting`; empty when it may.

    A `secret` URL (a webhook, whose URL is its credential) is never quoted.
    """
    parts = urlsplit(url.strip())
    shown = f"{setting} (its value is not shown: a secret)" if secret else f"{setting}={url!r}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{shown} is not an http(s) URL"
    if parts.scheme != "https" and not is_loopback_host(parts.hostname):
        return (
            f"{shown} uses http:// off loopback: credentials and tokens would cross the "
            "network in clear text. Use https://."
        )
    return ""


def require_safe_url(url: str, setting: str) -> str:
    """Refuse plain-HTTP URLs off loopback before any credential is sent."""
    problem = url_problem(url, setting)
    if problem:
        raise ValueError(problem)
    return url.rstrip("/")
