"""What the source reads from dlt's own config and secrets, as dlt's verified sources do.

dlt looks each key up under `[sources.support_desk]` in `.dlt/secrets.toml` and
`.dlt/config.toml`, or as `SOURCES__SUPPORT_DESK__<KEY>` variables (and, like every dlt
source, finally under the bare key). The Dagster assets pass a ready `Connection` instead
and none of these keys is used.
"""

import datetime as dt
from collections.abc import Collection

import dlt
from dlt.common.configuration import configspec
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.common.configuration.resolve import resolve_configuration
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.typing import TAnyDateTime, TSecretStrValue

from support_assets.source.contract import (
    DEFAULT_API,
    DEFAULT_START_DATE,
    MAX_CONCURRENCY,
    MAX_REREADS,
    SOURCE_NAME,
    TOKEN_REFRESH_MARGIN_S,
    WINDOW_PAGES,
)

# Where dlt looks for the source's keys: `sources.<section>.<name>`, then the shorter paths.
SECTIONS = ("sources", SOURCE_NAME, SOURCE_NAME)
CREDENTIAL_KEYS = ("base_url", "client_id", "client_secret")
ENV_PREFIX = f"SOURCES__{SOURCE_NAME.upper()}__"


@configspec
class SupportDeskConfiguration(BaseConfiguration):
    """The keys `support_source` takes from dlt's config; each is also an argument.

    Declared rather than derived from the signature so that the arguments only Python can
    pass (`connection`, `window`, `seed`) are never looked up: dlt would try a variable
    named `SEED` or `WINDOW` and fail to coerce it. The credentials are optional here, so
    that building the source never fails on them (see `support_source`).
    """

    base_url: str | None = None
    client_id: TSecretStrValue | None = None
    client_secret: TSecretStrValue | None = None
    # Empty: the base URL + the contract's token path.
    token_url: str | None = None
    # dlt parses these: a date, an ISO datetime (naive means UTC) or epoch seconds.
    start_date: TAnyDateTime | None = DEFAULT_START_DATE
    end_date: TAnyDateTime | None = None
    page_size: int = DEFAULT_API.page_size
    window_pages: int = WINDOW_PAGES
    max_rereads: int = MAX_REREADS
    token_refresh_margin: float = TOKEN_REFRESH_MARGIN_S
    window_lag: int = 0
    max_concurrency: int = MAX_CONCURRENCY


@configspec
class SupportDeskCredentials(BaseConfiguration):
    """The three keys a load cannot do without, all required.

    Resolved only to report the ones missing: dlt's `ConfigFieldMissingException` then
    names each key and every variable and file it looked in.
    """

    base_url: str = dlt.config.value
    client_id: TSecretStrValue = dlt.secrets.value
    client_secret: TSecretStrValue = dlt.secrets.value


class CredentialsMissing(ConfigFieldMissingException):
    """The source was built without credentials, and a load is about to read the desk."""

    def __str__(self) -> str:
        keys = ", ".join(self.fields)
        variables = ", ".join(f"{ENV_PREFIX}{key.upper()}" for key in self.fields)
        return (
            f"The {SOURCE_NAME} source has no credentials to read with ({keys} missing). Set "
            f"them under [sources.{SOURCE_NAME}] in .dlt/secrets.toml, as {variables}, or "
            f"pass them to support_source(). Nothing was read.\n{super().__str__()}"
        )


def credentials_missing(given: Collection[str]) -> CredentialsMissing:
    """The credentials missing, as dlt's own lookup reports them (looked up once more).

    `given` names the keys the source had (their values are not needed, only that they
    were set), so only the others are reported.
    """
    explicit = {key: "<given>" for key in CREDENTIAL_KEYS if key in given}
    try:
        resolve_configuration(SupportDeskCredentials(), sections=SECTIONS, explicit_value=explicit)
    except ConfigFieldMissingException as exc:
        return CredentialsMissing(exc.config, exc.traces)
    # Set since the source was built: this source still has none to read with.
    missing = {key: [] for key in CREDENTIAL_KEYS if key not in explicit}
    return CredentialsMissing(SupportDeskCredentials(), missing)


def instant(value: TAnyDateTime, key: str) -> dt.datetime:
    """A start or end date as a caller or dlt's config gives it, as a UTC datetime."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"{key}={value!r} is not a date (2024-01-01) or an ISO datetime "
                "(2024-01-01T06:00:00Z)"
            ) from None
        return instant(parsed, key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    raise TypeError(f"{key}={value!r} is not a date, a datetime or an ISO string")
