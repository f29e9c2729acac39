"""The dlt source itself: what it names without credentials, and what it wires with them."""

import datetime as dt
from pathlib import Path

import dlt
import pytest

from support_assets.sandbox import SandboxServer
from support_assets.source import support_source
from support_assets.source.arrow import ArrowPages
from support_assets.source.connection import connect
from support_assets.source.contract import DESCRIPTIONS
from support_assets.source.timestamps import parse_ts
from support_assets_tests.helpers import CLIENT_ID, CLIENT_SECRET

RESOURCES = ["support_tickets", "ticket_comments"]


def step_types(source: dlt.sources.DltSource, resource: str) -> list[str]:
    """The resource's pipe, step by step (dlt has no public view of it)."""
    return [type(step).__name__ for step in source.resources[resource]._pipe.steps]


def test_without_credentials_the_source_only_names_the_resources(sandbox: SandboxServer) -> None:
    # As the code location builds it when it loads: no settings, no connection.
    source = support_source()

    assert list(source.resources) == RESOURCES
    assert [source.resources[name].__doc__ for name in RESOURCES] == [
        DESCRIPTIONS[name] for name in RESOURCES
    ]
    assert "ArrowPages" not in step_types(source, "support_tickets")
    assert sandbox.stats()["requests"] == {}


def test_with_a_connection_pages_turn_to_arrow_right_after_the_paginator() -> None:
    connection = connect("http://127.0.0.1:9", CLIENT_ID, CLIENT_SECRET, arrow_pages=False)

    source = support_source(connection=connection)

    for name in RESOURCES:
        # Before dlt's incremental step, so it filters Arrow tables, not rows.
        # Descriptions last: only the rows the incremental step keeps show fields.
        assert step_types(source, name) == [
            "function",
            "ArrowPages",
            "IncrementalResourceWrapper",
            "DescribeColumns",
        ]
        [pages] = [s for s in source.resources[name]._pipe.steps if isinstance(s, ArrowPages)]
        assert pages.telemetry is connection.telemetry
        assert (pages.arrow, pages.cursor_field, pages.primary_key) == (False, "updated_at", "id")


def test_a_connection_used_twice_hooks_the_desks_clock_once() -> None:
    connection = connect("http://127.0.0.1:9", CLIENT_ID, CLIENT_SECRET)

    support_source(connection=connection)
    support_source(connection=connection)  # an asset step retried in the same process

    assert connection.session.hooks["response"] == [connection.clock.observe]


def in_window(records: list[dict[str, str]], start: dt.datetime, end: dt.datetime) -> int:
    return sum(start <= parse_ts(r["updated_at"]) < end for r in records)


def test_plain_dlt_loads_the_window_from_dlts_config_and_secrets(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # dlt's environment provider, under the source's own section, as a verified source's.
    monkeypatch.setenv("SOURCES__SUPPORT_DESK__BASE_URL", sandbox.url)
    monkeypatch.setenv("SOURCES__SUPPORT_DESK__CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SOURCES__SUPPORT_DESK__CLIENT_SECRET", CLIENT_SECRET)
    tickets, comments = sandbox.truth("tickets"), sandbox.truth("comments")
    # The middle third of the tickets' history (the data is generated relative to today).
    stamps = sorted(parse_ts(r["updated_at"]) for r in tickets)
    start_day, end_day = stamps[len(stamps) // 3].date(), stamps[2 * len(stamps) // 3].date()
    start = dt.datetime.combine(start_day, dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(end_day, dt.time(), tzinfo=dt.UTC)
    pipeline = dlt.pipeline(
        "support_desk_plain",
        destination=dlt.destinations.duckdb(str(tmp_path / "plain.duckdb")),
        dataset_name="support",
        pipelines_dir=str(tmp_path / "pipelines"),
    )

    # A date as text and a naive datetime (UTC), as a user may write them.
    pipeline.run(
        support_source(start_date=start_day.isoformat(), end_date=end.replace(tzinfo=None))
    )

    with pipeline.sql_client() as client:
        loaded = client.execute_sql(
            "select (select count(*) from support_tickets), (select count(*) from ticket_comments)"
        )
    expected = (in_window(tickets, start, end), in_window(comments, start, end))
    assert 0 < expected[0] < len(tickets) and 0 < expected[1] < len(comments)
    assert [tuple(row) for row in loaded] == [expected]
    assert sandbox.stats()["token_grants"] == 1
