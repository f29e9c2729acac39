"""The seed's `rest_api` configuration, and its translation onto dlt's mechanisms.

The seed describes the API in a spelling dlt 1.31 rejects (`"type": "oauth2"` with a
`token_url`, an endpoint `error_handler`, an offset paginator whose default `total_path`
raises on APIs without a total). `seed_config()` keeps that spelling, because it is what
users read and edit; `to_dlt_config()` maps each key onto what dlt really does: our OAuth2
helper, the retrying session, and the windowed offset paginator.
"""

import dataclasses
import datetime as dt
import functools
from collections.abc import Mapping
from copy import deepcopy
from typing import Any

from dlt.common import jsonpath
from dlt.sources.helpers.rest_client.paginators import (
    BasePaginator,
    HeaderLinkPaginator,
    JSONLinkPaginator,
    SinglePagePaginator,
)

from support_assets.source.columns import described_hints
from support_assets.source.connection import Connection
from support_assets.source.contract import (
    COMMENTS_RESOURCE,
    CONTRACT_COLUMNS,
    CREDENTIAL_SETTINGS,
    DEFAULT_API,
    DEFAULT_RETRY,
    TICKETS_RESOURCE,
    TIMESTAMP_COLUMN,
    ApiNames,
    RetryPolicy,
)
from support_assets.source.page_check import PageCheck
from support_assets.source.paginators.offset import WindowedOffsetPaginator
from support_assets.source.paginators.reseek import ReseekPaginator
from support_assets.source.paginators.stream import StreamPaginator
from support_assets.source.timestamps import format_since
from support_assets.source.window import LoadWindow


def _query_value(value: dt.datetime | None, since_format: str = "rfc3339") -> str | None:
    # dlt converts an unset end too; requests leaves a None parameter out.
    return format_since(value, since_format) if value is not None else None


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
    api: ApiNames = DEFAULT_API,
) -> dict[str, Any]:
    """Translate the seed's spelling into a configuration dlt's `rest_api` accepts.

    Without a connection (definition time) the result has no auth and points nowhere: it
    only names the resources and their hints. Comments read per ticket become a child of
    the tickets (dlt's `resources.<parent>.<field>` path), fed by the tickets this run
    loaded, so they need no cursor of their own.
    """
    api = connection.api if connection else api
    seed = deepcopy(dict(seed))
    client = seed.pop("client")
    defaults = seed.pop("resource_defaults", {})
    endpoint_defaults = dict(defaults.pop("endpoint", {}))
    endpoint_defaults.pop("error_handler", None)  # the session's retry policy, not a dlt key
    paging = client.get("paginator", {})

    resources = []
    for resource in seed.pop("resources"):
        endpoint = {**endpoint_defaults, **resource.get("endpoint", {})}
        name = resource["name"]
        names = api.endpoint(name) if name in (TICKETS_RESOURCE, COMMENTS_RESOURCE) else None
        cursor = api.cursor_of(name) if names else api.cursor_field
        child = names is not None and names.per_ticket
        entry: dict[str, Any] = {
            **defaults,
            **{k: v for k, v in resource.items() if k != "endpoint"},
            # A record read twice in one run (before and after an update) must end up as its
            # newer version: order duplicates by the cursor, newest first.
            # Copies: dlt writes a `name` into each column dict it is given.
            "columns": described_hints(
                {
                    **{c: dict(hint) for c, hint in CONTRACT_COLUMNS.get(name, {}).items()},
                    cursor: {**TIMESTAMP_COLUMN, "dedup_sort": "desc"},
                },
                api,
                name,
            ),
        }
        if names is not None and names.params:
            endpoint["params"] = {**endpoint.get("params", {}), **dict(names.params)}
        if child:
            parent = f"{{resources.{TICKETS_RESOURCE}.{api.primary_key}}}"
            endpoint["path"] = endpoint["path"].replace("{id}", parent)
            entry["include_from_parent"] = [api.primary_key]
        if connection is not None:
            check = PageCheck(
                resource=name,
                data_selector=endpoint["data_selector"],
                primary_key=entry.get("primary_key", api.primary_key),
                offset_param=paging.get("offset_param", api.offset_param),
                telemetry=connection.telemetry,
                cursor_field=cursor,
                credentials=()
                if api.auth == "oauth2"
                else tuple(setting for _, setting in CREDENTIAL_SETTINGS[api.auth]),
            )
            if child:
                endpoint["paginator"] = _child_paginator(api)
                # Each ticket's comments become a deferred call that dlt runs in its
                # extract pool, several tickets at once (dlt deep-copies the paginator per
                # ticket; the page check is the run's one and keeps no per-page state).
                entry["parallelized"] = True
                if api.limit_param:
                    endpoint["params"] = {
                        **endpoint.get("params", {}),
                        api.limit_param: api.page_size,
                    }
            else:
                endpoint["paginator"] = _paginator(api, name, cursor, paging, connection, check)
                entry["parallelized"] = True
            endpoint["response_actions"] = [check]
            # Compiled once: dlt's client compiles a string selector again for every page,
            # a JSONPath parser build each time (about 1 ms).
            endpoint["data_selector"] = jsonpath.compile_path(endpoint["data_selector"])
        if window is not None and not child:
            endpoint["incremental"] = {
                "start_param": api.since_param,
                "end_param": api.before_param,
                "cursor_path": cursor,
                # Datetimes, as the Arrow pages' cursor column holds them; the API gets its
                # own format (RFC 3339 or Unix seconds) back through `convert`.
                "initial_value": window.start.astimezone(dt.UTC),
                "end_value": window.end.astimezone(dt.UTC) if window.end else None,
                "convert": functools.partial(_query_value, since_format=api.since_format),
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


def _paginator(
    api: ApiNames,
    name: str,
    cursor: str,
    paging: Mapping[str, Any],
    connection: Connection,
    check: PageCheck,
) -> BasePaginator:
    """The no-loss paginator of the desk's pagination kind, for a top-level collection."""
    if api.pagination == "page_number":
        return ReseekPaginator(
            resource=name,
            since_param=api.since_param,
            since_format=api.since_format,
            cursor_field=cursor,
            cursor_format=api.cursor_format,
            primary_key=api.primary_key,
            upper_bound=connection.window_end,
            page_param=api.page_param,
            first_page=api.first_page,
            limit_param=api.limit_param,
            limit=api.page_size,
            before_param=api.before_param,
            next_link=api.next_link,
        )
    if api.pagination == "stream":
        return StreamPaginator(
            resource=name,
            since_param=api.since_param,
            since_format=api.since_format,
            cursor_field=cursor,
            cursor_format=api.cursor_format,
            upper_bound=connection.window_end,
            desk_now=connection.desk_now,
            min_since_age=api.min_since_age,
            next_cursor_path=api.next_cursor_path,
            cursor_param=api.cursor_param,
            next_url_path=api.next_url_path,
            end_path=api.end_path,
            limit_param=api.limit_param,
            limit=api.page_size,
        )
    if api.before_param is None:
        raise ValueError(
            f"{name}: offset pages over live data need an upper bound parameter to be read "
            "without loss (SUPPORT_BEFORE_PARAM); a desk without one is read by "
            "SUPPORT_PAGINATION=page_number or stream"
        )
    return WindowedOffsetPaginator(
        limit=int(paging.get("limit", api.page_size)),
        offset_param=paging.get("offset_param", api.offset_param),
        limit_param=paging.get("limit_param", api.limit_param),
        total_path=paging.get("total_path", api.total_path),
        since_param=api.since_param,
        before_param=api.before_param,
        primary_key=api.primary_key,
        cursor_field=cursor,
        upper_bound=connection.window_end,
        check=check,
        window_pages=connection.window_pages,
        max_rereads=connection.max_rereads,
    )


def _child_paginator(api: ApiNames) -> BasePaginator:
    """A ticket's comments are read whole: the next link the desk gives, or one page."""
    link = api.child_next_link
    if link == "header":
        return HeaderLinkPaginator()
    if link:
        return JSONLinkPaginator(next_url_path=link)
    return SinglePagePaginator()
