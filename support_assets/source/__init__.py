"""The support-desk dlt source: tickets and comments, with no Dagster import.

Runs under plain dlt as dlt's verified sources do, credentials and settings coming from
dlt's config and secrets (`.dlt/secrets.toml`, or `SOURCES__SUPPORT_DESK__CLIENT_SECRET`
and friends):

    pipeline = dlt.pipeline("support_desk", destination="duckdb", dataset_name="support")
    pipeline.run(support_source(start_date="2024-01-01"))

The Dagster assets build the same source, from the resource's `EnvVar`s and the run's
partition window. Built without credentials (as the code location does when it loads) it
only names the resources and their hints.
"""

import datetime as dt
from collections.abc import Mapping
from typing import Any, cast

import dlt
from dlt.extract.resource import DltResource
from dlt.sources.rest_api import rest_api_resources
from dlt.sources.rest_api.typing import RESTAPIConfig

from support_assets.source.arrow import ArrowPages
from support_assets.source.config import retry_policy_of, seed_config, to_dlt_config
from support_assets.source.connection import Connection, connect
from support_assets.source.contract import (
    COMMENTS_RESOURCE,
    DEFAULT_API,
    DEFAULT_RETRY,
    DEFAULT_START_DATE,
    DESCRIPTIONS,
    MAX_REREADS,
    SOURCE_NAME,
    TICKETS_RESOURCE,
    TOKEN_REFRESH_MARGIN_S,
    WINDOW_PAGES,
    ApiNames,
)
from support_assets.source.nested import NestedRecords
from support_assets.source.window import LoadWindow
from support_assets.source.workarounds import (
    add_dlt_columns_to_arrow_pages,
    quiet_json_as_text_notice,
)

__all__ = ["Connection", "LoadWindow", "connect", "support_source"]


def _instant(value: dt.date | dt.datetime | str) -> dt.datetime:
    """A start or end date as dlt's config or a caller gives it, as a UTC datetime."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# Nesting 0: objects and lists are JSON columns, on the Arrow pages and on the pages that
# go through dlt's row path alike (see `arrow.py`). The section makes dlt look for the
# arguments under `sources.support_desk`, as a verified source's are.
@dlt.source(name=SOURCE_NAME, section=SOURCE_NAME, max_table_nesting=0)
def support_source(
    base_url: str | None = dlt.config.value,
    client_id: str | None = dlt.secrets.value,
    client_secret: str | None = dlt.secrets.value,
    start_date: dt.date | dt.datetime | str = DEFAULT_START_DATE,
    end_date: dt.date | dt.datetime | str | None = None,
    token_url: str = "",
    window_pages: int = WINDOW_PAGES,
    max_rereads: int = MAX_REREADS,
    token_refresh_margin: float = TOKEN_REFRESH_MARGIN_S,
    window_lag: int = 0,
    connection: Connection | None = None,
    window: LoadWindow | None = None,
    seed: Mapping[str, Any] | None = None,
    api: ApiNames | None = None,
) -> list[DltResource]:
    """Support tickets and ticket comments from the Support API.

    Without `end_date` the load is incremental: from the cursor dlt keeps in the
    destination (or `start_date` on the first run) up to the desk's current second. With
    it, exactly `[start_date, end_date)`, and the cursor stays. The Dagster assets pass
    their own `connection` and `window` instead of credentials and dates.
    """
    if connection is None and base_url and client_id and client_secret:
        connection = connect(
            base_url,
            client_id,
            client_secret,
            token_url=token_url,
            token_refresh_margin=token_refresh_margin,
            window_pages=window_pages,
            max_rereads=max_rereads,
            window_lag=window_lag,
        )
    if window is None and connection is not None:
        end = _instant(end_date) if end_date is not None else None
        window = LoadWindow(start=_instant(start_date), end=end)
    api = connection.api if connection else (api or DEFAULT_API)
    policy = connection.session.policy if connection else DEFAULT_RETRY
    if seed is None:
        seed = seed_config(api, policy)
    elif connection is not None:
        # A seed of the caller's: its error_handler is the session's retry policy (dlt has
        # no such key).
        connection.session.policy = retry_policy_of(seed, policy)
    if connection is not None:
        quiet_json_as_text_notice()
        add_dlt_columns_to_arrow_pages()
        hooks = connection.session.hooks["response"]
        if connection.clock.observe not in hooks:
            hooks.append(connection.clock.observe)
    config = cast(RESTAPIConfig, to_dlt_config(seed, connection, window, api))
    resources = rest_api_resources(config)
    children = api.comments.per_ticket
    for resource in resources:
        resource.__doc__ = DESCRIPTIONS.get(resource.name)
        if connection is None:
            continue
        child = children and resource.name == COMMENTS_RESOURCE
        # Right after the paginator, so dlt's incremental step already sees Arrow. A
        # parent of per-ticket comments passes dicts on: dlt resolves the children's
        # paths from its records.
        pages = ArrowPages(
            resource,
            api.cursor_of(resource.name),
            connection.telemetry,
            connection.arrow_pages and not (children and resource.name == TICKETS_RESOURCE),
            primary_key=api.primary_key,
            cursor_format=api.cursor_format,
            # dlt names the parent's id `_<parent>_<key>`; a comment names its ticket so.
            renamed={f"_{TICKETS_RESOURCE}_{api.primary_key}": api.ticket_key} if child else {},
        )
        resource.add_step(pages, insert_at=1)
        nested = api.endpoint(resource.name).nested
        if nested:
            # Before the Arrow step: the rows are the children, with what they inherit.
            filter_ = api.endpoint(resource.name).nested_filter
            inherited = (api.ticket_key, api.cursor_of(resource.name))
            resource.add_step(NestedRecords(nested, filter_, inherited), insert_at=1)
    return resources
