"""Incremental refresh: nothing lost or stale under live data, and cheap when idle."""

import dataclasses
import datetime as dt
from typing import Any

import pytest

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import (
    materialize,
    warehouse_rows,
)


def epoch(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def compare(
    settings: Settings, sandbox: SandboxServer, resource: str, table: str
) -> dict[str, Any]:
    """Missing, stale and duplicated records of one table against the API's truth."""
    truth = {r["id"]: epoch(r["updated_at"]) for r in sandbox.truth(resource)}
    rows = warehouse_rows(settings, f"select id, epoch(updated_at) from support.{table}")
    loaded: dict[int, float] = {}
    duplicates = 0
    for record_id, ts in rows:
        duplicates += record_id in loaded
        loaded[record_id] = float(ts)
    return {
        "missing": sorted(set(truth) - set(loaded)),
        "stale": sorted(i for i in truth if i in loaded and loaded[i] != truth[i]),
        "duplicates": duplicates,
        "extra": sorted(set(loaded) - set(truth)),
    }


CLEAN = {"missing": [], "stale": [], "duplicates": 0, "extra": []}


def data_requests(sandbox: SandboxServer) -> dict[str, int]:
    requests = sandbox.stats()["requests"]
    return {
        path: sum(requests.get(f"GET {path}", {}).values())
        for path in ("/v1/tickets", "/v1/ticket_comments")
    }


@pytest.mark.parametrize("seed", range(6), ids=lambda s: f"seed-{s}")
def test_refresh_loses_no_record_when_records_move_during_pagination(
    api_env: SandboxServer, settings: Settings, seed: int
) -> None:
    api_env.reset(seed=seed)
    api_env.set_faults({"name": "live_updates", "per_page": 2})

    assert materialize(settings).success
    moved = api_env.stats()["faults_injected"].get("live_updates", 0)
    api_env.clear_faults()
    assert materialize(settings).success  # the one following run the contract allows

    assert moved > 0
    assert compare(settings, api_env, "tickets", "support_tickets") == CLEAN
    assert compare(settings, api_env, "comments", "ticket_comments") == CLEAN


def test_nothing_changed_costs_one_request_per_resource(
    api_env: SandboxServer, settings: Settings
) -> None:
    assert materialize(settings).success
    api_env.reset_stats()

    assert materialize(settings).success

    assert data_requests(api_env) == {"/v1/tickets": 1, "/v1/ticket_comments": 1}
    assert api_env.stats()["token_grants"] == 1
    # The records sharing the cursor's second are read again (updated_since is inclusive)
    # and merged, never dropped as "already seen".
    truth = api_env.truth("tickets")
    newest = max(r["updated_at"] for r in truth)
    ties = sum(r["updated_at"] == newest for r in truth)
    assert api_env.stats()["records_served"]["tickets"] == ties
    assert compare(settings, api_env, "tickets", "support_tickets") == CLEAN


def test_k_changed_records_cost_about_k_over_100_pages_more(
    api_env: SandboxServer, settings: Settings
) -> None:
    api_env.reset(tickets=2000, comments=100)
    assert materialize(settings).success
    api_env.update("tickets", 250)
    api_env.reset_stats()

    assert materialize(settings).success

    # 250 changed records (plus the ties at the old cursor): three pages.
    assert data_requests(api_env)["/v1/tickets"] == 3
    assert compare(settings, api_env, "tickets", "support_tickets") == CLEAN


def test_large_windows_are_read_in_bounded_slices(
    api_env: SandboxServer, settings: Settings
) -> None:
    api_env.reset(tickets=3000, comments=100)
    # One reader: the slices' cost alone (parts read at once cost a page or so each more:
    # test_max_concurrency).
    settings = dataclasses.replace(settings, max_concurrency=1)

    assert materialize(settings).success

    assert compare(settings, api_env, "tickets", "support_tickets") == CLEAN
    # Windows of at most 50 pages: a first request learns the total and the window is
    # split before paging, so 30 pages of data cost a handful of extra requests at most.
    assert 30 <= data_requests(api_env)["/v1/tickets"] <= 36
