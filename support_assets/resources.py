"""The Dagster resource that holds the Support API's OAuth credentials."""

import dagster as dg
from pydantic import Field

from support_assets.settings import Settings
from support_assets.source.connection import Connection, connect, token_url_of
from support_assets.source.contract import MAX_REREADS, WINDOW_PAGES, ApiNames


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
        default=WINDOW_PAGES,
        description="Largest time slice read in one go, in pages; bigger slices are split",
    )
    max_rereads: int = Field(
        default=MAX_REREADS,
        description="How often a slice that changed while read is read on before giving up",
    )

    def resolved_token_url(self, api: ApiNames) -> str:
        """The token URL as configured, or derived from the base URL."""
        return token_url_of(self.base_url, self.token_url, api)

    def connect(self, settings: Settings | None = None) -> Connection:
        """One run's session, token and telemetry, built as the plain-dlt source builds them."""
        settings = settings or Settings()
        return connect(
            self.base_url,
            self.client_id,
            self.client_secret,
            token_url=self.token_url,
            api=settings.api,
            retry=settings.retry,
            token_refresh_margin=settings.token_refresh_margin,
            window_pages=self.window_pages,
            max_rereads=self.max_rereads,
            arrow_pages=settings.arrow_pages,
            window_lag=settings.window_lag,
        )
