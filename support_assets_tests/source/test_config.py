"""The seed's `rest_api` configuration, and its translation onto dlt's mechanisms."""

import datetime as dt
from typing import Any

from dlt.sources.rest_api import rest_api_resources

from support_assets.sandbox import SandboxServer
from support_assets.source import support_source
from support_assets.source.auth import SupportOAuth2
from support_assets.source.config import retry_policy_of, seed_config, to_dlt_config
from support_assets.source.connection import connect
from support_assets.source.contract import (
    CONTRACT_COLUMNS,
    RETRY_STATUSES,
    TIMESTAMP_COLUMN,
    RetryPolicy,
)
from support_assets.source.page_check import PageCheck
from support_assets.source.paginators.offset import WindowedOffsetPaginator
from support_assets.source.window import LoadWindow
from support_assets_tests.helpers import CLIENT_ID, CLIENT_SECRET

CURSOR_COLUMN = {"data_type": "timestamp", "nullable": True, "dedup_sort": "desc"}
# The contract's column hints as declared.
DECLARED = {
    "support_tickets": {
        "subject": {"data_type": "text"},
        "description": {"data_type": "text"},
        "status": {"data_type": "text"},
        "priority": {"data_type": "text"},
        "requester_id": {"data_type": "bigint"},
        "assignee_id": {"data_type": "bigint"},
        "custom_fields": {"data_type": "json"},
        "tags": {"data_type": "json"},
        "created_at": {"data_type": "timestamp", "nullable": True},
    },
    "ticket_comments": {
        "ticket_id": {"data_type": "bigint"},
        "author_id": {"data_type": "bigint"},
        "body": {"data_type": "text"},
        "public": {"data_type": "bool"},
        "created_at": {"data_type": "timestamp", "nullable": True},
    },
}


def unnamed(columns: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Column hints without the `name` dlt writes into the copies it is given.

    Nor descriptions, whose hints source/test_columns.py checks: one holding nothing else
    (dlt's own columns) drops out.
    """
    kept = {
        k: {h: v for h, v in c.items() if h not in ("name", "description")}
        for k, c in columns.items()
    }
    return {key: hint for key, hint in kept.items() if hint}


def test_seed_config_keeps_the_seed_spelling() -> None:
    seed = seed_config()

    assert seed["client"]["auth"]["type"] == "oauth2"
    assert "token_url" in seed["client"]["auth"]
    assert seed["client"]["paginator"] == {
        "type": "offset",
        "limit": 100,
        "offset_param": "offset",
        "limit_param": "limit",
        "total_path": "total",
    }
    assert seed["resource_defaults"]["primary_key"] == "id"
    assert seed["resource_defaults"]["write_disposition"] == "merge"
    assert seed["resource_defaults"]["endpoint"]["error_handler"] == {
        "retry_statuses": [429, 500, 502, 503, 504],
        "max_retries": 3,
        "backoff_factor": 2.0,
    }
    assert [(r["name"], r["endpoint"]["data_selector"]) for r in seed["resources"]] == [
        ("support_tickets", "tickets"),
        ("ticket_comments", "comments"),
    ]


def test_seed_config_translates_into_a_config_dlt_accepts(sandbox: SandboxServer) -> None:
    connection = connect(sandbox.url, CLIENT_ID, CLIENT_SECRET)

    config = to_dlt_config(seed_config(), connection, window=None)
    resources = rest_api_resources(config)  # raises on keys dlt does not know

    assert [r.name for r in resources] == ["support_tickets", "ticket_comments"]
    assert isinstance(config["client"]["auth"], SupportOAuth2)
    assert config["client"]["auth"].access_token_url == sandbox.token_url
    for resource in config["resources"]:
        assert "error_handler" not in resource["endpoint"]
        assert isinstance(resource["endpoint"]["paginator"], WindowedOffsetPaginator)
    # dlt masked the secret in its validation copy, not in the live helper.
    assert str(config["client"]["auth"].client_secret) == CLIENT_SECRET
    assert sandbox.stats()["requests"] == {}, "building the source sends nothing"


def test_seed_error_handler_becomes_the_session_retry_policy() -> None:
    seed = seed_config()
    seed["resource_defaults"]["endpoint"]["error_handler"] = {
        "retry_statuses": [429, 503],
        "max_retries": 5,
        "backoff_factor": 1.5,
    }

    policy = retry_policy_of(seed, RetryPolicy())

    assert policy == RetryPolicy(statuses=(429, 503), max_retries=5, backoff_factor=1.5)
    connection = connect("http://127.0.0.1:9", CLIENT_ID, CLIENT_SECRET)
    support_source(connection=connection, seed=seed)
    assert connection.session.policy == policy
    assert policy.max_attempts == 6
    assert retry_policy_of(seed_config(), RetryPolicy()).statuses == RETRY_STATUSES


def test_without_a_connection_the_config_names_the_resources_and_points_nowhere() -> None:
    config = to_dlt_config(seed_config(), connection=None, window=None)

    # No credentials, no session, no paginator: the code location only reads the names
    # and the column hints.
    assert config["client"] == {"base_url": "http://127.0.0.1"}
    assert [
        {**resource, "columns": unnamed(resource["columns"])} for resource in config["resources"]
    ] == [
        {
            "name": "support_tickets",
            "primary_key": "id",
            "write_disposition": "merge",
            "columns": {**DECLARED["support_tickets"], "updated_at": CURSOR_COLUMN},
            "endpoint": {"path": "/v1/tickets", "data_selector": "tickets"},
        },
        {
            "name": "ticket_comments",
            "primary_key": "id",
            "write_disposition": "merge",
            "columns": {**DECLARED["ticket_comments"], "updated_at": CURSOR_COLUMN},
            "endpoint": {"path": "/v1/ticket_comments", "data_selector": "comments"},
        },
    ]
    assert [r.name for r in rest_api_resources(config)] == ["support_tickets", "ticket_comments"]


def test_building_the_resources_leaves_the_contracts_column_hints_as_declared() -> None:
    rest_api_resources(to_dlt_config(seed_config(), connection=None, window=None))

    assert CONTRACT_COLUMNS == DECLARED
    assert TIMESTAMP_COLUMN == {"data_type": "timestamp", "nullable": True}


def test_with_a_connection_each_resource_gets_the_windowed_paginator_and_its_page_check() -> None:
    connection = connect("http://127.0.0.1:9", CLIENT_ID, CLIENT_SECRET, window_pages=7)
    seed = seed_config()
    seed["client"]["paginator"].update(limit=25, offset_param="skip", limit_param="take")

    config = to_dlt_config(seed, connection, window=None)

    assert config["client"]["base_url"] == "http://127.0.0.1:9"
    assert config["client"]["auth"] is connection.auth
    assert config["client"]["session"] is connection.session
    for resource, selector in zip(config["resources"], ["tickets", "comments"], strict=True):
        endpoint = resource["endpoint"]
        paginator = endpoint["paginator"]
        [check] = endpoint["response_actions"]
        assert isinstance(check, PageCheck)
        assert paginator.check is check
        assert (check.resource, check.data_selector, check.offset_param) == (
            resource["name"],
            selector,
            "skip",
        )
        assert check.telemetry is connection.telemetry
        assert (paginator.limit, paginator.param_name, paginator.limit_param) == (
            25,
            "skip",
            "take",
        )
        assert (paginator.since_param, paginator.before_param) == (
            "updated_since",
            "updated_before",
        )
        assert paginator.window_pages == 7
        # Where the window ends is the connection's to say (the desk's clock).
        assert paginator.upper_bound == connection.window_end
        assert resource["parallelized"] is True
        assert str(endpoint["data_selector"]) == selector  # compiled once, as JSONPath
        assert "incremental" not in endpoint


def test_a_window_becomes_each_resources_incremental_bounds_in_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    window = LoadWindow(
        start=dt.datetime(2026, 1, 1, 1, tzinfo=paris), end=dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    )

    config = to_dlt_config(seed_config(), connection=None, window=window)

    for resource in config["resources"]:
        incremental = dict(resource["endpoint"]["incremental"])
        convert = incremental.pop("convert")
        assert incremental == {
            "start_param": "updated_since",
            "end_param": "updated_before",
            "cursor_path": "updated_at",
            "initial_value": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            "end_value": dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
            # Ties at the cursor are re-read and merged, not dropped by dlt.
            "primary_key": [],
            "on_cursor_value_missing": "raise",
        }
        # In UTC, as the Arrow pages' cursor column holds them (not merely the same instant).
        assert incremental["initial_value"].tzinfo is dt.UTC
        assert convert(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) == "2026-01-01T00:00:00Z"
        assert convert(None) is None


def test_an_open_window_has_no_end_value() -> None:
    window = LoadWindow(start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

    config = to_dlt_config(seed_config(), connection=None, window=window)

    assert [r["endpoint"]["incremental"]["end_value"] for r in config["resources"]] == [None, None]
