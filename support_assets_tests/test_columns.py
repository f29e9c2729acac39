"""What each column holds: in dlt's schema after a load, and in the assets' column schema."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dlt.common.schema.utils import dlt_id_column, dlt_load_id_column

from support_assets.definitions import build_definitions
from support_assets.pipeline import support_pipeline
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets.source.columns import NAMING, columns_of
from support_assets.source.vendors import preset
from support_assets_tests.helpers import (
    COMMENTS,
    SEED,
    TICKETS,
    desk_emulator,
    failure_message,
    materialize,
    point_at_desk,
)

VENDORS = ["generic", "zendesk", "freshdesk", "helpscout"]
TABLES = {"tickets": "support_tickets", "comments": "ticket_comments"}
# dlt writes its own description of these over ours on some load paths; ours begin with it.
DLT_OWN = {
    "_dlt_id": dlt_id_column().get("description"),
    "_dlt_load_id": dlt_load_id_column().get("description"),
}


@pytest.fixture(scope="module", params=VENDORS)
def desk_server(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    with desk_emulator(request.param, TICKETS, COMMENTS, SEED) as server:
        yield server


@pytest.fixture
def desk(
    desk_server: SandboxServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> tuple[SandboxServer, Settings]:
    """The desk with fresh data, and its preset's settings pointing at it."""
    return point_at_desk(desk_server, settings, monkeypatch)


def test_every_field_the_desk_serves_has_a_description(
    desk: tuple[SandboxServer, Settings],
) -> None:
    # The desk's truth is every record in its own shape, fields that are always null too.
    server, settings = desk
    for resource, table in TABLES.items():
        served = {NAMING.normalize_identifier(k) for r in server.truth(resource) for k in r}
        described = columns_of(settings.api, table)

        assert served - set(described) == set(), table
        assert all(text for _, text in described.values())


def test_after_a_load_every_column_is_described_in_dlts_schema_and_the_ui(
    desk: tuple[SandboxServer, Settings], tmp_path: Path
) -> None:
    _, settings = desk
    specs = {
        spec.key.path[-1]: spec
        for spec in build_definitions(settings).get_assets_def("support_tickets").specs
    }

    result = materialize(settings)

    assert result.success, failure_message(result)
    # The schema as the destination keeps it: what the next run, or any reader, starts from.
    reader = support_pipeline(settings, tmp_path / "reader")
    reader.sync_destination()
    schema = reader.default_schema
    for table in TABLES.values():
        declared = columns_of(settings.api, table)
        loaded: dict[str, Any] = dict(schema.get_table_columns(table, include_incomplete=True))
        # No column without a type: a description never made a column of its own.
        assert set(loaded) <= set(declared), table
        assert {n: c.get("data_type") for n, c in loaded.items()} == {
            n: declared[n][0] for n in loaded
        }
        for name, column in loaded.items():
            text = declared[name][1]
            expected = {text, DLT_OWN[name]} if name in DLT_OWN else {text}
            assert column.get("description") in expected, (table, name)
    # The UI shows the materialization's columns with the spec's descriptions, by name.
    for event in result.asset_materializations_for_node("support_api_assets"):
        table = event.asset_key.path[-1]
        shown = event.metadata["dagster/column_schema"].value
        assert isinstance(shown, dg.TableSchema)
        spec_schema = specs[table].metadata["dagster/column_schema"]
        assert {c.name for c in shown.columns} <= {c.name for c in spec_schema.columns}, table


# The desk and the endpoint each asset description names.
NAMED = {
    "generic": ("reference Support API", "GET /v1/tickets", "GET /v1/ticket_comments"),
    "zendesk": (
        "Zendesk's incremental ticket export",
        "GET /api/v2/incremental/tickets/cursor.json",
        "GET /api/v2/incremental/ticket_events.json?include=comment_events",
    ),
    "freshdesk": ("Freshdesk's ticket list", "GET /api/v2/tickets", "/conversations"),
    "helpscout": ("Help Scout's conversation list", "GET /v2/conversations", "embed=threads"),
}


@pytest.mark.parametrize("vendor", VENDORS, ids=VENDORS)
def test_asset_specs_carry_the_column_schema_and_name_the_desk_and_endpoint(
    vendor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORT_VENDOR", vendor)
    settings = Settings.from_env()

    specs = build_definitions(settings).get_assets_def("support_tickets").specs

    by_table = {spec.key.path[-1]: spec for spec in specs}
    assert set(by_table) == set(TABLES.values())
    for table, spec in by_table.items():
        schema = spec.metadata["dagster/column_schema"]
        assert [(c.name, c.type, c.description) for c in schema.columns] == [
            (name, kind, text) for name, (kind, text) in columns_of(preset(vendor), table).items()
        ]
        assert {"id", "_dlt_id", "_dlt_load_id"} <= {c.name for c in schema.columns}
    desk, tickets_request, comments_request = NAMED[vendor]
    tickets, comments = by_table["support_tickets"], by_table["ticket_comments"]
    assert tickets.description and comments.description
    assert tickets.description.startswith("Tickets from ")
    assert desk in tickets.description
    assert tickets_request in tickets.description
    assert comments.description.startswith("Ticket comments from ")
    assert comments_request in comments.description


def test_an_overridden_path_is_named_as_the_users_own_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUPPORT_VENDOR", "zendesk")
    monkeypatch.setenv("SUPPORT_TICKETS_PATH", "/api/v2/incremental/tickets.json")
    settings = Settings.from_env()

    specs = build_definitions(settings).get_assets_def("support_tickets").specs

    tickets = next(spec for spec in specs if spec.key.path[-1] == "support_tickets")
    assert tickets.description is not None
    assert "Zendesk at GET /api/v2/incremental/tickets.json" in tickets.description
    assert "incremental ticket export" not in tickets.description
    # Another endpoint, other fields: only the contract's columns (typed, always there).
    names = [c.name for c in tickets.metadata["dagster/column_schema"].columns]
    assert "raw_subject" not in names
    assert {"subject", "status", "_dlt_id"} <= set(names)
    # The cursor is a typed hint, so the column exists: described all the same.
    cursor = next(
        c
        for c in tickets.metadata["dagster/column_schema"].columns
        if c.name == "generated_timestamp"
    )
    assert cursor.type == "timestamp"
    assert "SUPPORT_TICKETS_CURSOR_FIELD" in (cursor.description or "")


def test_the_column_schema_follows_the_customer_data_and_history_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUPPORT_EXCLUDE_COLUMNS", "comments.body")
    monkeypatch.setenv("SUPPORT_HASH_COLUMNS", "tickets.requester_id")
    monkeypatch.setenv("SUPPORT_HASH_SALT", "a-salt-of-sixteen-characters-or-more")
    monkeypatch.setenv("SUPPORT_HISTORY", "scd2")
    settings = Settings.from_env()

    specs = build_definitions(settings).get_assets_def("support_tickets").specs
    schemas = {s.key.path[-1]: s.metadata["dagster/column_schema"] for s in specs}
    tickets = {c.name: c for c in schemas["support_tickets"].columns}
    comments = {c.name: c for c in schemas["ticket_comments"].columns}

    assert "body" not in comments and "body" in columns_of(settings.api, "ticket_comments")
    assert tickets["requester_id"].type == "text"
    assert (tickets["requester_id"].description or "").startswith("Keyed hash")
    for schema in (tickets, comments):
        assert {"_dlt_valid_from", "_dlt_valid_to", "_version_hash"} <= set(schema)
