"""The dlt source: the seed's `rest_api` configuration, translated onto dlt's mechanisms.

The seed describes the API in a spelling dlt 1.31 rejects (`"type": "oauth2"` with a
`token_url`, an endpoint `error_handler`, an offset paginator whose default `total_path`
raises on APIs without a total). `seed_config()` keeps that spelling, because it is what
users read and edit; `to_dlt_config()` maps each key onto what dlt really does: our OAuth2
helper, the retrying session, and the windowed offset paginator.

The source is built twice on purpose: once without credentials when the code location
loads (it only names the assets) and once per run with the connection and the load window.
"""

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from copy import deepcopy
from typing import Any, cast

import dlt
from dlt.common import jsonpath, logger
from dlt.extract.resource import DltResource
from dlt.sources.rest_api import rest_api_resources
from dlt.sources.rest_api.typing import RESTAPIConfig

from support_assets.arrow import ArrowPages
from support_assets.http import RetryingSession, Telemetry
from support_assets.paginator import PageCheck, ServerClock, WindowedOffsetPaginator, format_ts
from support_assets.settings import (
    COMMENTS_RESOURCE,
    DEFAULT_API,
    DEFAULT_RETRY,
    TICKETS_RESOURCE,
    ApiNames,
    RetryPolicy,
)

SOURCE_NAME = "support_desk"
DESCRIPTIONS = {
    TICKETS_RESOURCE: "Support tickets from the Support API, merged on id.",
    COMMENTS_RESOURCE: "Ticket comments from the Support API, merged on id.",
}


# The contract's fields with their types, declared so that a field the API has sent only as
# null so far still exists as a column, and so a field that later changes type is visible
# as a variant column next to a stable one.
_TIMESTAMP = {"data_type": "timestamp", "nullable": True}
CONTRACT_COLUMNS: dict[str, dict[str, dict[str, Any]]] = {
    TICKETS_RESOURCE: {
        "subject": {"data_type": "text"},
        "description": {"data_type": "text"},
        "status": {"data_type": "text"},
        "priority": {"data_type": "text"},
        "requester_id": {"data_type": "bigint"},
        "assignee_id": {"data_type": "bigint"},
        # Per-tenant keys whose values mix strings, numbers and booleans by design: one JSON
        # column keeps every value as sent, where flattening would scatter them over
        # type-variant columns and grow the table with each new custom field.
        "custom_fields": {"data_type": "json"},
        "tags": {"data_type": "json"},
        "created_at": _TIMESTAMP,
    },
    COMMENTS_RESOURCE: {
        "ticket_id": {"data_type": "bigint"},
        "author_id": {"data_type": "bigint"},
        "body": {"data_type": "text"},
        "public": {"data_type": "bool"},
        "created_at": _TIMESTAMP,
    },
}


def _query_value(value: dt.datetime | None) -> str | None:
    # dlt converts an unset end too; requests leaves a None parameter out.
    return format_ts(value) if value is not None else None


@dataclasses.dataclass(frozen=True)
class LoadWindow:
    """Which records a run reads, by `updated_at`.

    `end` None is the incremental refresh: from the stored cursor (or `start` on the first
    run) up to the moment the run starts, and the cursor moves. With `end` set it is a
    partition or backfill: exactly `[start, end)`, and the cursor stays.
    """

    start: dt.datetime
    end: dt.datetime | None = None


@dataclasses.dataclass
class Connection:
    """Everything a run needs to talk to the API, built by `SupportApiResource`."""

    base_url: str
    auth: Any
    session: RetryingSession
    telemetry: Telemetry
    api: ApiNames
    window_pages: int = 50
    max_rereads: int = 3
    arrow_pages: bool = True
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    window_lag: int = 0
    clock: ServerClock = dataclasses.field(default_factory=ServerClock)


def window_end(connection: Connection) -> dt.datetime:
    """Where a run's window ends: after the desk's current second, less `window_lag`.

    The desk's clock, not ours (see the paginator's module docstring). A change the desk
    stamps during the run lands past the window or in its last second, and the next run
    reads that second again (the cursor is at most that second; `updated_since` is
    inclusive). A desk that stamps records up to `window_lag` seconds behind its `Date`
    header is covered the same way.
    """
    bearer = getattr(connection.auth, "bearer", None)
    if callable(bearer):
        bearer()  # the token's response, before any page, carries the desk's clock
    now = connection.clock.date
    if now is None:
        logger.warning(
            "The Support API sent no Date header: the load window ends by this machine's "
            "clock, which may differ from the desk's. Raise SUPPORT_WINDOW_LAG by the "
            "largest difference expected."
        )
        now = connection.now()
    return now.replace(microsecond=0) + dt.timedelta(seconds=1 - connection.window_lag)


def seed_config(api: ApiNames = DEFAULT_API, retry: RetryPolicy = DEFAULT_RETRY) -> dict[str, Any]:
    """The seed's `rest_api` configuration, in the seed's own spelling."""
    return {
        "client": {
            "base_url": "{base_url}",
            "auth": {
                "type": "oauth2",
                "token_url": "{token_url}",
                "client_id": "{client_id}",
                "client_secret": "{client_secret}",
            },
            "paginator": {
                "type": "offset",
                "limit": api.page_size,
                "offset_param": api.offset_param,
                "limit_param": api.limit_param,
                "total_path": api.total_path,
            },
        },
        "resource_defaults": {
            "primary_key": api.primary_key,
            "write_disposition": "merge",
            "endpoint": {
                "error_handler": {
                    "retry_statuses": list(retry.statuses),
                    "max_retries": retry.max_retries,
                    "backoff_factor": retry.backoff_factor,
                },
            },
        },
        "resources": [
            {
                "name": name,
                "endpoint": {
                    "path": api.endpoint(name).path,
                    "data_selector": api.endpoint(name).data_selector,
                },
            }
            for name in (TICKETS_RESOURCE, COMMENTS_RESOURCE)
        ],
    }


def retry_policy_of(seed: Mapping[str, Any], default: RetryPolicy) -> RetryPolicy:
    """The seed's `error_handler`, as the retrying session's policy."""
    handler = seed.get("resource_defaults", {}).get("endpoint", {}).get("error_handler") or {}
    return dataclasses.replace(
        default,
        statuses=tuple(handler.get("retry_statuses", default.statuses)),
        max_retries=int(handler.get("max_retries", default.max_retries)),
        backoff_factor=float(handler.get("backoff_factor", default.backoff_factor)),
    )


def to_dlt_config(
    seed: Mapping[str, Any],
    connection: Connection | None,
    window: LoadWindow | None,
) -> dict[str, Any]:
    """Translate the seed's spelling into a configuration dlt's `rest_api` accepts.

    Without a connection (definition time) the result has no auth and points nowhere: it
    only names the resources and their hints.
    """
    seed = deepcopy(dict(seed))
    client = seed.pop("client")
    defaults = seed.pop("resource_defaults", {})
    endpoint_defaults = dict(defaults.pop("endpoint", {}))
    endpoint_defaults.pop("error_handler", None)  # the session's retry policy, not a dlt key
    paging = client.get("paginator", {})
    api = connection.api if connection else DEFAULT_API
    cursor = api.cursor_field

    resources = []
    for resource in seed.pop("resources"):
        endpoint = {**endpoint_defaults, **resource.get("endpoint", {})}
        name = resource["name"]
        entry: dict[str, Any] = {
            **defaults,
            **{k: v for k, v in resource.items() if k != "endpoint"},
            # A record read twice in one run (before and after an update) must end up as its
            # newer version: order duplicates by the cursor, newest first.
            "columns": {
                **CONTRACT_COLUMNS.get(name, {}),
                cursor: {**_TIMESTAMP, "dedup_sort": "desc"},
            },
        }
        if connection is not None:
            check = PageCheck(
                resource=name,
                data_selector=endpoint["data_selector"],
                primary_key=entry.get("primary_key", api.primary_key),
                offset_param=paging.get("offset_param", api.offset_param),
                telemetry=connection.telemetry,
                cursor_field=cursor,
            )
            endpoint["paginator"] = WindowedOffsetPaginator(
                limit=int(paging.get("limit", api.page_size)),
                offset_param=paging.get("offset_param", api.offset_param),
                limit_param=paging.get("limit_param", api.limit_param),
                total_path=paging.get("total_path", api.total_path),
                since_param=api.since_param,
                before_param=api.before_param,
                primary_key=entry.get("primary_key", api.primary_key),
                cursor_field=cursor,
                upper_bound=lambda: window_end(connection),
                check=check,
                window_pages=connection.window_pages,
                max_rereads=connection.max_rereads,
            )
            endpoint["response_actions"] = [check]
            entry["parallelized"] = True
            # Compiled once: dlt's client compiles a string selector again for every page,
            # a JSONPath parser build each time (about 1 ms).
            endpoint["data_selector"] = jsonpath.compile_path(endpoint["data_selector"])
        if window is not None:
            endpoint["incremental"] = {
                "start_param": api.since_param,
                "end_param": api.before_param,
                "cursor_path": cursor,
                # Datetimes, as the Arrow pages' cursor column holds them; the API gets
                # RFC 3339 back through `convert`.
                "initial_value": window.start.astimezone(dt.UTC),
                "end_value": window.end.astimezone(dt.UTC) if window.end else None,
                "convert": _query_value,
                # dlt's boundary de-duplication would drop a record updated twice within the
                # cursor's second; ties at the cursor are re-read and merged instead.
                "primary_key": [],
                "on_cursor_value_missing": "raise",
            }
        entry["endpoint"] = endpoint
        resources.append(entry)

    return {
        "client": {
            "base_url": connection.base_url if connection else "http://127.0.0.1",
            **({"auth": connection.auth, "session": connection.session} if connection else {}),
        },
        "resources": resources,
    }


# Nesting 0: objects and lists are JSON columns, on the Arrow pages and on the pages that
# go through dlt's row path alike (see `arrow.py`).
@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def support_source(
    connection: Connection | None = None,
    window: LoadWindow | None = None,
    seed: Mapping[str, Any] | None = None,
) -> list[DltResource]:
    """Support tickets and ticket comments from the Support API."""
    api = connection.api if connection else DEFAULT_API
    policy = connection.session.policy if connection else DEFAULT_RETRY
    seed = seed or seed_config(api, policy)
    if connection is not None:
        # The seed's error_handler is the session's retry policy: dlt has no such key.
        connection.session.policy = retry_policy_of(seed, policy)
        hooks = connection.session.hooks["response"]
        if connection.clock.observe not in hooks:
            hooks.append(connection.clock.observe)
    config = cast(RESTAPIConfig, to_dlt_config(seed, connection, window))
    resources = rest_api_resources(config)
    for resource in resources:
        resource.__doc__ = DESCRIPTIONS.get(resource.name)
        if connection is not None:
            # Right after the paginator, so dlt's incremental step already sees Arrow.
            pages = ArrowPages(
                resource,
                api.cursor_field,
                connection.telemetry,
                connection.arrow_pages,
                primary_key=api.primary_key,
            )
            resource.add_step(pages, insert_at=1)
    return resources
