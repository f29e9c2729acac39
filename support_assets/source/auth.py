"""OAuth2 client credentials on top of dlt's own helper, hardened for long runs.

dlt's `OAuth2ClientCredentials` fetches a token and renews it only once it has expired; a
token revoked or cut short by the server mid-run, or a token response without
`access_token` (dlt would send `Bearer None`), fails the run. This subclass renews early
(a safety margin), can be told a token was rejected, and turns every failure into a
message that names the token URL and never the secret.
"""

import threading
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from dlt.common.configuration.specs.base_configuration import configspec
from dlt.sources.helpers.rest_client.auth import AuthConfigBase, OAuth2ClientCredentials

from support_assets.source.contract import TOKEN_REFRESH_MARGIN_S
from support_assets.source.errors import ApiUnreachable, CredentialsRejected, SupportApiError
from support_assets.source.spec import credentials_missing
from support_assets.source.telemetry import Telemetry
from support_assets.source.workarounds import CopiedShallow


@configspec
class SupportOAuth2(CopiedShallow, OAuth2ClientCredentials):
    """Client-credentials token shared by every request of a run, renewed before it ends."""

    refresh_margin: float = TOKEN_REFRESH_MARGIN_S
    # How the client authenticates at the token URL (RFC 6749 2.3.1): "basic" (HTTP Basic,
    # which every server must accept) or "body" (`client_id`/`client_secret` as form
    # parameters, all that some desks accept: Help Scout).
    client_auth: str = "basic"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._lock = threading.Lock()
        self._expires_at = 0.0
        self.telemetry: Telemetry | None = None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Attach the shared token, fetching or renewing it first if needed."""
        request.headers["Authorization"] = self.bearer()
        return request

    def bearer(self) -> str:
        """The header value for the next request; one thread fetches, the others wait."""
        with self._lock:
            if self.access_token is None or self.is_token_expired():
                self.obtain_token()
            return f"Bearer {self.access_token}"

    def invalidate(self, rejected: str) -> None:
        """Drop the token the server rejected, unless another thread already replaced it."""
        with self._lock:
            if rejected == f"Bearer {self.access_token}":
                self.access_token = None

    def is_token_expired(self) -> bool:
        """Renew early: a page fetched just before expiry must not be the one that fails."""
        return time.monotonic() >= self._expires_at

    def obtain_token(self) -> None:
        """Fetch a token, the client authenticated as `client_auth` says (RFC 6749 2.3.1)."""
        url = self.access_token_url
        form = {"grant_type": "client_credentials", **self.access_token_request_data}
        basic: tuple[str, str] | None = (str(self.client_id), str(self.client_secret))
        if self.client_auth == "body":
            form |= {"client_id": str(self.client_id), "client_secret": str(self.client_secret)}
            basic = None
        try:
            response = self.session.post(
                url, data=form, auth=basic, headers={"Accept": "application/json"}
            )
        except ApiUnreachable as exc:
            # The session's own message names the data API; this is the token endpoint.
            raise SupportApiError(_unreachable_token_url(url, exc.error_type)) from None
        except SupportApiError as exc:
            raise SupportApiError(f"could not get a token from {url}: {exc}") from None
        except requests.RequestException as exc:
            raise SupportApiError(
                f"could not reach the token URL {url} ({type(exc).__name__}). Check "
                "SUPPORT_API_TOKEN_URL / SUPPORT_API_BASE_URL and the network."
            ) from None
        if response.status_code in (400, 401, 403):
            raise CredentialsRejected(
                f"credentials rejected by {url} (HTTP {response.status_code}, "
                f"{_oauth_error(response)}). Check SUPPORT_API_CLIENT_ID and "
                "SUPPORT_API_CLIENT_SECRET."
            )
        if response.status_code != 200:
            raise SupportApiError(f"token request to {url} failed with HTTP {response.status_code}")
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise SupportApiError(
                f"the token response from {url} has no access_token; is "
                "SUPPORT_API_TOKEN_URL the OAuth2 token endpoint?"
            )
        self.access_token = token
        lifetime = self.parse_expiration_in_seconds(body)
        self._expires_at = time.monotonic() + max(0.0, lifetime - self._margin(lifetime))
        if self.telemetry is not None:
            self.telemetry.count_token_grant()

    def _margin(self, lifetime: float) -> float:
        # Never let the margin eat a short-lived token whole: keep at least half of it.
        return min(self.refresh_margin, lifetime / 2)

    def parse_expiration_in_seconds(self, response_json: Any) -> int:
        """`expires_in`, or dlt's default when the server leaves it out or sends junk."""
        try:
            return int(response_json.get("expires_in", self.default_token_expiration))
        except (TypeError, ValueError):
            return self.default_token_expiration


class NoCredentials(AuthConfigBase):
    """The auth of a source built without credentials: no request it would sign is sent.

    Such a source only names its resources (the Dagster code location builds one so), but
    it can still be run: the first request then raises dlt's error naming the missing keys,
    before anything reaches the network. Not a `configspec`: it has nothing to look up.
    """

    def __init__(self, given: Iterable[str] = ()) -> None:
        super().__init__()
        self.given = frozenset(given)
        self.resolve()  # nothing to look up; dlt's rest_api would otherwise try

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Refuse to sign: the source has no credentials to read with."""
        raise credentials_missing(self.given)


def _oauth_error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "no error code"
    error = body.get("error") if isinstance(body, dict) else None
    return str(error) if error else "no error code"


def _unreachable_token_url(url: str, error_type: str) -> str:
    """Name the token URL (without credentials or query) and the settings it comes from."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    shown = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return (
        f"could not reach the token URL {shown} ({error_type}, retries spent). "
        "Check SUPPORT_API_TOKEN_URL (when it is unset, the token URL is "
        "SUPPORT_API_BASE_URL + SUPPORT_TOKEN_PATH) and that the network reaches it."
    )
