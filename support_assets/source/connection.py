"""One run's connection to the desk: its session, token, telemetry and clock.

Built in one place for both ways the source runs: the Dagster resource passes what its
`EnvVar`s resolved to, a plain dlt pipeline what dlt's config and secrets hold.
"""

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from dlt.sources.helpers.rest_client.auth import APIKeyAuth, BearerTokenAuth, HttpBasicAuth
from requests.auth import AuthBase

from support_assets.source.auth import SupportOAuth2
from support_assets.source.budget import BudgetHeaders, budget_for
from support_assets.source.concurrency import limit_requests
from support_assets.source.contract import (
    CREDENTIAL_SETTINGS,
    DEFAULT_API,
    DEFAULT_RETRY,
    MAX_CONCURRENCY,
    MAX_REREADS,
    TOKEN_REFRESH_MARGIN_S,
    WINDOW_PAGES,
    ApiNames,
    RetryPolicy,
)
from support_assets.source.errors import SupportApiError
from support_assets.source.session import RetryingSession
from support_assets.source.telemetry import Telemetry
from support_assets.source.urls import require_safe_url
from support_assets.source.window import ServerClock, window_end


@dataclasses.dataclass
class Connection:
    """Everything a run needs to talk to the API."""

    base_url: str
    auth: Any
    session: RetryingSession
    telemetry: Telemetry
    api: ApiNames
    window_pages: int = WINDOW_PAGES
    max_rereads: int = MAX_REREADS
    arrow_pages: bool = True
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    window_lag: int = 0
    clock: ServerClock = dataclasses.field(default_factory=ServerClock)
    # Requests in flight at once, everything counted (see `concurrency.py`).
    max_concurrency: int = MAX_CONCURRENCY
    # A committed slice's end (a long load read in slices): the paginators stop there, as
    # at the window's end. Set on a per-slice copy; the session, token and clock are shared.
    slice_end: dt.datetime | None = None

    def window_end(self) -> dt.datetime:
        """Where this run's window ends, by the desk's clock (see `window.window_end`).

        A desk that leaves out its newest changes (Zendesk's export: the last minute) ends
        the window at least that far back, so the cursor never passes what it withheld.
        """
        bearer = getattr(self.auth, "bearer", None)
        if callable(bearer):
            bearer()  # the token's response, before any page, carries the desk's clock
        lag = max(self.window_lag, self.api.min_since_age)
        end = window_end(self.clock, lag, self.now)
        return min(end, self.slice_end) if self.slice_end is not None else end

    def desk_now(self) -> dt.datetime:
        """The desk's clock as its first response said, else ours."""
        return self.clock.date or self.now()


def token_url_of(base_url: str, token_url: str, api: ApiNames = DEFAULT_API) -> str:
    """The token URL as configured, or the base URL + the contract's token path."""
    return token_url or base_url.rstrip("/") + api.token_path


@dataclasses.dataclass(frozen=True)
class Credentials:
    """What each auth kind needs; only the chosen kind's fields are read."""

    client_id: str = ""
    client_secret: str = ""
    username: str = ""
    password: str = ""
    api_token: str = ""
    api_key: str = ""


def build_auth(
    api: ApiNames,
    credentials: Credentials,
    session: RetryingSession,
    telemetry: Telemetry,
    token_url: str,
    token_refresh_margin: float,
) -> AuthBase:
    """The desk's auth kind (`SUPPORT_AUTH`) with its credentials; refuses missing ones."""
    missing = [
        setting
        for field, setting in CREDENTIAL_SETTINGS[api.auth]
        if not getattr(credentials, field)
    ]
    if missing:
        raise SupportApiError(
            f"SUPPORT_AUTH={api.auth} needs {' and '.join(missing)}: set "
            f"{'them' if len(missing) > 1 else 'it'} (nothing was requested)."
        )
    if api.auth == "basic":
        return HttpBasicAuth(credentials.username, credentials.password)
    if api.auth == "bearer":
        return BearerTokenAuth(credentials.api_token)
    if api.auth == "api_key":
        return APIKeyAuth(name=api.api_key_header, api_key=credentials.api_key)
    auth = SupportOAuth2(
        access_token_url=token_url,
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        session=session,
        refresh_margin=token_refresh_margin,
        client_auth=api.oauth_client_auth,
    )
    auth.telemetry = telemetry
    auth.resolve()
    session.tokens = auth
    return auth


def connect(
    base_url: str,
    client_id: str = "",
    client_secret: str = "",
    token_url: str = "",
    api: ApiNames = DEFAULT_API,
    retry: RetryPolicy = DEFAULT_RETRY,
    token_refresh_margin: float = TOKEN_REFRESH_MARGIN_S,
    window_pages: int = WINDOW_PAGES,
    max_rereads: int = MAX_REREADS,
    arrow_pages: bool = True,
    window_lag: int = 0,
    credentials: Credentials | None = None,
    max_requests_per_minute: float = 0,
    max_concurrency: int = MAX_CONCURRENCY,
) -> Connection:
    """Build one run's session, auth and telemetry; refuses unsafe URLs before any I/O.

    The session paces to the desk's rate budget, which every run in this process that
    points at the same desk shares (`budget.budget_for`).
    """
    base_url = require_safe_url(base_url, "SUPPORT_API_BASE_URL")
    token_url = require_safe_url(token_url_of(base_url, token_url, api), "SUPPORT_API_TOKEN_URL")
    credentials = credentials or Credentials(client_id=client_id, client_secret=client_secret)
    telemetry = Telemetry()
    headers = BudgetHeaders(
        api.rate_limit_remaining_header, api.rate_limit_reset_header, api.rate_limit_limit_header
    )
    session = RetryingSession(
        retry,
        telemetry,
        retry_after_headers=api.retry_after_headers,
        budget=budget_for(base_url, max_requests_per_minute, headers),
    )
    limit_requests(session, max_concurrency)
    auth = build_auth(api, credentials, session, telemetry, token_url, token_refresh_margin)
    return Connection(
        base_url=base_url,
        auth=auth,
        session=session,
        telemetry=telemetry,
        api=api,
        window_pages=window_pages,
        max_rereads=max_rereads,
        arrow_pages=arrow_pages,
        window_lag=window_lag,
        max_concurrency=max_concurrency,
    )
