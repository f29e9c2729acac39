"""The Dagster resource that holds the Support API's OAuth credentials."""

import dagster as dg
from pydantic import Field

from support_assets.settings import Settings
from support_assets.source.connection import Connection, Credentials, connect, token_url_of
from support_assets.source.contract import MAX_REREADS, WINDOW_PAGES, ApiNames
from support_assets.source.privacy import CustomerData


class SupportApiResource(dg.ConfigurableResource):
    """The desk's base URL and credentials, for the auth kind it uses (secrets via env vars)."""

    base_url: str = Field(description="Base URL of the API, e.g. https://desk.example.com")
    client_id: str = Field(default="", description="OAuth2 client id (SUPPORT_API_CLIENT_ID)")
    client_secret: str = Field(
        default="", description="OAuth2 client secret (SUPPORT_API_CLIENT_SECRET)"
    )
    username: str = Field(default="", description="HTTP Basic user (SUPPORT_API_USERNAME)")
    password: str = Field(default="", description="HTTP Basic password (SUPPORT_API_PASSWORD)")
    api_token: str = Field(default="", description="Bearer token (SUPPORT_API_TOKEN)")
    api_key: str = Field(default="", description="API key (SUPPORT_API_KEY)")
    token_url: str = Field(
        default="",
        description="OAuth2 token endpoint; empty means base URL + the token path",
    )
    hash_salt: str = Field(
        default="",
        description="Key of the customer-data hashes (SUPPORT_HASH_SALT); never shown",
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
            credentials=Credentials(
                client_id=self.client_id,
                client_secret=self.client_secret,
                username=self.username,
                password=self.password,
                api_token=self.api_token,
                api_key=self.api_key,
            ),
            token_url=self.token_url,
            api=settings.api,
            retry=settings.retry,
            token_refresh_margin=settings.token_refresh_margin,
            window_pages=self.window_pages,
            max_rereads=self.max_rereads,
            arrow_pages=settings.arrow_pages,
            window_lag=settings.window_lag,
            max_requests_per_minute=settings.max_requests_per_minute,
            max_concurrency=settings.max_concurrency,
        )

    def customer_data(self, settings: Settings) -> CustomerData:
        """What a load settles before writing: excluded and hashed fields, versions (scd2)."""
        return CustomerData(
            exclude=settings.exclude_columns,
            hashed=settings.hash_columns,
            salt=self.hash_salt,
            versions=settings.history == "scd2",
        )
