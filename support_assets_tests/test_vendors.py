"""The presets against the desks' emulators: the same guarantees as the reference contract."""

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from dlt.common.normalizers.naming.snake_case import NamingConvention

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets.source.timestamps import cursor_instant
from support_assets.source.vendors import preset
from support_assets_tests.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    COMMENTS,
    SEED,
    TICKETS,
    failure_message,
    materialize,
    table_exists,
    warehouse_rows,
)

VENDORS = ["helpscout"]
NAMING = NamingConvention()
# What each desk calls the credentials the sandbox was started with.
CREDENTIALS = {
    "helpscout": {"SUPPORT_API_CLIENT_ID": CLIENT_ID, "SUPPORT_API_CLIENT_SECRET": CLIENT_SECRET},
    "freshdesk": {"SUPPORT_API_USERNAME": CLIENT_SECRET, "SUPPORT_API_PASSWORD": "X"},
    "zendesk": {"SUPPORT_API_USERNAME": f"{CLIENT_ID}/token", "SUPPORT_API_PASSWORD": CLIENT_SECRET},
}
TABLES = {"tickets": "support_tickets", "comments": "ticket_comments"}


@pytest.fixture(scope="module", params=VENDORS)
def desk_server(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    with SandboxServer(
        tickets=TICKETS,
        comments=COMMENTS,
        seed=SEED,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        vendor=request.param,
    ) as server:
        yield server


@pytest.fixture
def desk(
    desk_server: SandboxServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> tuple[SandboxServer, Settings]:
    """The desk's emulator with fresh data, and the settings of its preset pointing at it."""
    vendor = desk_server.config["vendor"]
    desk_server.reset()
    monkeypatch.setenv("SUPPORT_API_BASE_URL", desk_server.url)
    for name, value in CREDENTIALS[vendor].items():
        monkeypatch.setenv(name, value)
    return desk_server, dataclasses.replace(settings, vendor=vendor, api=preset(vendor))


def compare(settings: Settings, server: SandboxServer, resource: str) -> dict[str, Any]:
    """Missing, stale, duplicated and extra records of one table against the desk's truth."""
    api = settings.api
    table = TABLES[resource]
    cursor = api.cursor_of(table)
    truth = {
        r[api.primary_key]: cursor_instant(r[cursor], api.cursor_format).timestamp()
        for r in server.truth(resource)
    }
    column = NAMING.normalize_identifier(cursor)
    rows = warehouse_rows(
        settings, f"select {api.primary_key}, epoch({column}) from support.{table}"
    )
    loaded: dict[Any, float] = {}
    duplicates = 0
    for ident, stamp in rows:
        duplicates += ident in loaded
        loaded[ident] = float(stamp)
    return {
        "rows": len(loaded),
        "missing": sorted(set(truth) - set(loaded))[:10],
        "stale": sorted(i for i in truth if i in loaded and loaded[i] != truth[i])[:10],
        "duplicates": duplicates,
        "extra": sorted(set(loaded) - set(truth))[:10],
    }


def clean(settings: Settings, server: SandboxServer, resource: str) -> dict[str, Any]:
    rows = len(server.truth(resource))
    return {"rows": rows, "missing": [], "stale": [], "duplicates": 0, "extra": []}


def test_a_full_load_equals_the_desks_truth(desk: tuple[SandboxServer, Settings]) -> None:
    server, settings = desk

    result = materialize(settings)

    assert result.success, failure_message(result)
    for resource in ("tickets", "comments"):
        assert compare(settings, server, resource) == clean(settings, server, resource)


def requests_by_route(server: SandboxServer) -> dict[str, int]:
    return {
        route: sum(statuses.values()) for route, statuses in server.stats()["requests"].items()
    }
