"""The Dagster resource that holds the Support API's OAuth credentials."""

import dagster as dg
from pydantic import Field

from support_assets.auth import SupportOAuth2, require_safe_url
from support_assets.http import RetryingSession, Telemetry
from support_assets.settings import DEFAULT_API, DEFAULT_RETRY, ApiNames, RetryPolicy
from support_assets.source import Connection


class SupportApiResource(dg.ConfigurableResource):
    """OAuth2 client credentials and base URL of the Support API (secrets via env vars)."""

    base_url: str = Field(description="Base URL of the API, e.g. https://desk.example.com")
    client_id: str = Field(description="OAuth2 client id (SUPPORT_API_CLIENT_ID)")
    client_secret: str = Field(description="OAuth2 client secret (SUPPORT_API_CLIENT_SECRET)")
    token_url: str = Field(
        default="",
        description="OAuth2 token endpoint; empty means base URL + the token path",
    )
    window_pages: int = Field(
        default=50,
        description="Largest time slice read in one go, in pages; bigger slices are split",
    )
    max_rereads: int = Field(
        default=3, description="How often a slice that changed while read is read again"
    )

    def resolved_token_url(self, api: ApiNames) -> str:
        """The token URL as configured, or derived from the base URL."""
        return self.token_url or self.base_url.rstrip("/") + api.token_path

    def connect(
        self,
        api: ApiNames = DEFAULT_API,
        retry: RetryPolicy = DEFAULT_RETRY,
        token_refresh_margin: float = 60.0,
    ) -> Connection:
        """Build one run's session, token and telemetry; refuses unsafe URLs before any I/O."""
        base_url = require_safe_url(self.base_url, "SUPPORT_API_BASE_URL")
        token_url = require_safe_url(self.resolved_token_url(api), "SUPPORT_API_TOKEN_URL")
        telemetry = Telemetry()
        session = RetryingSession(retry, telemetry)
        auth = SupportOAuth2(
            access_token_url=token_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            session=session,
            refresh_margin=token_refresh_margin,
        )
        auth.telemetry = telemetry
        auth.resolve()
        session.tokens = auth
        return Connection(
            base_url=base_url,
            auth=auth,
            session=session,
            telemetry=telemetry,
            api=api,
            window_pages=self.window_pages,
            max_rereads=self.max_rereads,
        )
