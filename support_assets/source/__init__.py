"""The support-desk dlt source: tickets and comments, with no Dagster import.

Runs under plain dlt as dlt's verified sources do, credentials and settings coming from
dlt's config and secrets (`[sources.support_desk]` in `.dlt/secrets.toml`, or
`SOURCES__SUPPORT_DESK__CLIENT_SECRET` and friends):

    pipeline = dlt.pipeline("support_desk", destination="duckdb", dataset_name="support")
    pipeline.run(support_source(start_date="2024-01-01"))

The Dagster assets build the same source, from the resource's `EnvVar`s and the run's
partition window. Built without credentials (as the code location does when it loads) it
only names the resources and their hints.
"""

import dataclasses
from collections.abc import Mapping
from typing import Any, cast

import dlt
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.typing import TAnyDateTime
from dlt.extract.resource import DltResource
from dlt.sources.rest_api import rest_api_resources
from dlt.sources.rest_api.typing import RESTAPIConfig

from support_assets.source.arrow import ArrowPages
from support_assets.source.auth import NoCredentials
from support_assets.source.columns import (
    NAMING,
    DescribeColumns,
    ForgetParentHints,
    descriptions_of,
    hashed_description,
)
from support_assets.source.config import retry_policy_of, seed_config, to_dlt_config
from support_assets.source.connection import Connection, connect
from support_assets.source.contract import (
    COMMENTS_RESOURCE,
    DEFAULT_API,
    DEFAULT_RETRY,
    DEFAULT_START_DATE,
    DESCRIPTIONS,
    MAX_CONCURRENCY,
    MAX_REREADS,
    SOURCE_NAME,
    TICKETS_RESOURCE,
    TOKEN_REFRESH_MARGIN_S,
    WINDOW_PAGES,
    ApiNames,
)
from support_assets.source.history import keep_history
from support_assets.source.nested import NestedRecords
from support_assets.source.parts import has_parts, parted_resource
from support_assets.source.privacy import CustomerData
from support_assets.source.spec import CREDENTIAL_KEYS, SupportDeskConfiguration, instant
from support_assets.source.window import OPEN_END, LoadWindow
from support_assets.source.workarounds import (
    add_dlt_columns_to_arrow_pages,
    quiet_json_as_text_notice,
)

__all__ = ["Connection", "LoadWindow", "connect", "support_source", "support_source_names_only"]


# Nesting 0: objects and lists are JSON columns, on the Arrow pages and on the pages that
# go through dlt's row path alike (see `arrow.py`). The section makes dlt look for the
# arguments under `sources.support_desk`, as a verified source's are; the spec names the
# ones it looks up.
@dlt.source(
    name=SOURCE_NAME, section=SOURCE_NAME, max_table_nesting=0, spec=SupportDeskConfiguration
)
def support_source(
    base_url: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    token_url: str | None = None,
    start_date: TAnyDateTime | None = DEFAULT_START_DATE,
    end_date: TAnyDateTime | None = None,
    page_size: int = DEFAULT_API.page_size,
    window_pages: int = WINDOW_PAGES,
    max_rereads: int = MAX_REREADS,
    token_refresh_margin: float = TOKEN_REFRESH_MARGIN_S,
    window_lag: int = 0,
    max_concurrency: int = MAX_CONCURRENCY,
    connection: Connection | None = None,
    window: LoadWindow | None = None,
    seed: Mapping[str, Any] | None = None,
    api: ApiNames | None = None,
    customer_data: CustomerData | None = None,
) -> list[DltResource]:
    """Support tickets and ticket comments from the Support API.

    Without `end_date` the load is incremental: from the cursor dlt keeps in the
    destination (or `start_date` on the first run) up to the desk's current second. With
    it, exactly `[start_date, end_date)`, and the cursor stays. Dates may be dates,
    datetimes or ISO strings; a naive one is UTC.

    Every argument up to `max_concurrency` is also a key dlt looks up in its config and
    secrets (`SupportDeskConfiguration`). Three callers, one body:

    - plain dlt: the credentials come from the arguments or dlt's config, and `connect()`
      builds the run's session and token exactly as the Dagster resource does;
    - the Dagster assets at run time pass their `connection` and `window`, and the keys
      are not used;
    - the Dagster code location, when it loads, builds it without credentials only to
      name the assets.

    `customer_data` (excluded and hashed fields, versions for `scd2` history) is settled
    on every record right after the paginator, before anything can write or log it.

    The last call cannot be told apart from a plain one whose credentials are missing, so
    missing credentials never fail the build (they are optional in the spec; required, dlt
    would raise before this body runs and the code location could not load). The source
    is built without credentials then: it names the resources as before, and the first
    request a load makes raises dlt's `ConfigFieldMissingException` naming each missing
    key and where to set it (`NoCredentials`), before anything reaches the network.
    `support_source_names_only` builds that source without looking anything up.
    """
    credentials = {"base_url": base_url, "client_id": client_id, "client_secret": client_secret}
    given = [key for key in CREDENTIAL_KEYS if credentials[key]]
    if connection is None and len(given) == len(CREDENTIAL_KEYS):
        connection = connect(
            str(base_url),
            str(client_id),
            str(client_secret),
            token_url=token_url or "",
            api=dataclasses.replace(DEFAULT_API, page_size=page_size),
            token_refresh_margin=token_refresh_margin,
            window_pages=window_pages,
            max_rereads=max_rereads,
            window_lag=window_lag,
            max_concurrency=max_concurrency,
        )
    if window is None and connection is not None:
        window = LoadWindow(
            start=instant(start_date or DEFAULT_START_DATE, "start_date"),
            end=instant(end_date, "end_date") if end_date is not None else None,
        )
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
    if connection is None:
        config["client"]["auth"] = NoCredentials(given)
    children = api.comments.per_ticket
    # Entries read by time parts, copied before `rest_api` consumes the configuration;
    # with per-ticket comments the tickets feed a child and are read as `rest_api` reads.
    parted = {
        entry["name"]: {**entry, "endpoint": dict(entry["endpoint"])}
        for entry in cast(list[dict[str, Any]], config["resources"])
        if connection is not None and not children and has_parts(entry)
    }
    resources = [
        parted_resource(parted[r.name], connection) if connection and r.name in parted else r
        for r in rest_api_resources(config)
    ]
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
        # After dlt's incremental step (its placement): describes the fields kept rows hold.
        descriptions = descriptions_of(api, resource.name)
        for name in customer_data.hashed_columns(resource.name) if customer_data else ():
            column = NAMING.normalize_identifier(name)
            if column in descriptions:
                descriptions[column] = hashed_description(descriptions[column])
        resource.add_step(DescribeColumns(resource, descriptions))
        if child:
            resource.add_step(ForgetParentHints(), insert_at=1)
        if customer_data:
            # Before the Arrow step and everything after it: no raw value is written or
            # logged. A full refresh (an open-ended window) is the load that retires.
            resource.add_step(customer_data.step(resource.name), insert_at=1)
            settle_columns(resource, customer_data, api, window)
        nested = api.endpoint(resource.name).nested
        if nested:
            # Before the Arrow step: the rows are the children, with what they inherit.
            names = api.endpoint(resource.name)
            cursor = api.cursor_of(resource.name)
            inherited = {api.ticket_key: names.nested_ticket_field, cursor: cursor}
            resource.add_step(NestedRecords(nested, names.nested_filter, inherited), insert_at=1)
    return resources


def settle_columns(
    resource: DltResource, customer_data: CustomerData, api: ApiNames, window: LoadWindow | None
) -> None:
    """Column hints that follow the customer-data settings and the change history."""
    columns = resource.columns if isinstance(resource.columns, dict) else {}
    for name in customer_data.excluded_columns(resource.name):
        columns.pop(name, None)  # the contract's hint would create the column, empty
    hashed = customer_data.hashed_columns(resource.name)
    if hashed:
        # A hashed column holds text, described as the hash of what the desk sent.
        texts = descriptions_of(api, resource.name)
        hints: dict[str, Any] = {}
        for name in hashed:
            hints[name] = {"data_type": "text"}
            if (column := NAMING.normalize_identifier(name)) in texts:
                hints[name]["description"] = hashed_description(texts[column])
        resource.apply_hints(columns=hints)
    if customer_data.versions:
        full_refresh = window is not None and window.end == OPEN_END
        keep_history(resource, api.primary_key, full_refresh)


# The source with no key to look up (a spec without fields): what a caller that only
# names the resources builds, so that no variable or `.dlt` folder can change it or fail
# it (an unsafe `base_url` there makes `support_source()` refuse, rightly for a load).
support_source_names_only = support_source.with_args(spec=BaseConfiguration)
