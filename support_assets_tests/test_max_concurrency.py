"""SUPPORT_MAX_CONCURRENCY: requests overlap up to the limit, never beyond, losing nothing.

The sandbox counts the most requests it answered at once (`max_in_flight`); its `slow`
fault holds each answer long enough for the client's other threads to send theirs, so
overlap shows in that count, not in wall time.
"""

import dataclasses
from collections.abc import Iterator

import dagster as dg
import pytest

from support_assets.demo import desk_credentials
from support_assets.pipeline.progress import RECORDS_TOTAL
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings, SettingsError
from support_assets.source.contract import MAX_CONCURRENCY
from support_assets.source.parts import READERS_PER_SLOT
from support_assets.source.vendors import preset
from support_assets_tests.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    COMMENTS,
    SEED,
    TICKETS,
    desk_emulator,
    failure_message,
    materialize,
    warehouse_rows,
)
from support_assets_tests.test_incremental import CLEAN, compare, data_requests
from support_assets_tests.test_vendors import clean
from support_assets_tests.test_vendors import compare as compare_desk

SLOW = {"name": "slow", "delay": 0.1}


def _both(sandbox: SandboxServer, settings: Settings) -> dict[str, object]:
    return {
        "tickets": compare(settings, sandbox, "tickets", "support_tickets"),
        "comments": compare(settings, sandbox, "comments", "ticket_comments"),
    }


def test_the_default_is_four_and_zero_is_refused_naming_the_setting() -> None:
    assert Settings.from_env({}).max_concurrency == MAX_CONCURRENCY == 4
    assert Settings.from_env({"SUPPORT_MAX_CONCURRENCY": "8"}).max_concurrency == 8
    with pytest.raises(SettingsError, match="SUPPORT_MAX_CONCURRENCY=0 must be at least 1"):
        Settings.from_env({"SUPPORT_MAX_CONCURRENCY": "0"})


@pytest.mark.parametrize("limit", [4, 2], ids=["four", "two"])
def test_requests_overlap_up_to_the_limit_and_never_beyond(
    api_env: SandboxServer, settings: Settings, limit: int
) -> None:
    api_env.set_faults(SLOW)

    result = materialize(dataclasses.replace(settings, max_concurrency=limit))

    assert result.success, failure_message(result)
    in_flight = api_env.stats()["max_in_flight"]
    assert 2 <= in_flight <= limit
    assert _both(api_env, settings) == {"tickets": CLEAN, "comments": CLEAN}


def test_at_concurrency_one_requests_go_one_at_a_time_and_load_everything(
    api_env: SandboxServer, settings: Settings
) -> None:
    api_env.set_faults(SLOW)

    result = materialize(dataclasses.replace(settings, max_concurrency=1))

    assert result.success, failure_message(result)
    assert api_env.stats()["max_in_flight"] == 1
    assert _both(api_env, settings) == {"tickets": CLEAN, "comments": CLEAN}


def test_records_crowded_into_recent_days_are_read_in_parts_and_all_loaded(
    api_env: SandboxServer, settings: Settings
) -> None:
    # Half the records in the last second: the window's first split leaves one big part,
    # the tail, which splits once more; its own tail, the busy second, is read whole.
    api_env.reset(tickets=3000, comments=100)
    api_env.update("tickets", 1500)
    api_env.set_faults(SLOW)

    result = materialize(settings)

    assert result.success, failure_message(result)
    # More than the two resources alone could have in flight: parts of one overlapped.
    assert 3 <= api_env.stats()["max_in_flight"] <= MAX_CONCURRENCY
    assert _both(api_env, settings) == {"tickets": CLEAN, "comments": CLEAN}
    # The desk's total is the whole window's, once: the parts' shares are not added to it.
    tickets = [
        m
        for m in result.get_asset_materialization_events()
        if m.asset_key == dg.AssetKey("support_tickets")
    ]
    assert tickets[0].materialization.metadata[RECORDS_TOTAL].value == 3000


def test_a_large_window_read_in_parts_costs_about_a_page_per_part_more(
    api_env: SandboxServer, settings: Settings
) -> None:
    api_env.reset(tickets=3000, comments=100)

    assert materialize(settings).success

    assert compare(settings, api_env, "tickets", "support_tickets") == CLEAN
    # 30 pages in 8 parts (one per reader, two readers per slot): the window's first page,
    # then each part's pages, the last of them partly full, with one record of overlap
    # between pages.
    readers = READERS_PER_SLOT * MAX_CONCURRENCY
    assert 30 <= data_requests(api_env)["/v1/tickets"] <= 30 + 1 + 2 * readers


def test_a_part_that_fails_fails_the_run_naming_it_and_commits_nothing(
    api_env: SandboxServer, settings: Settings
) -> None:
    assert materialize(settings).success
    before = warehouse_rows(settings, "select id, updated_at from support.ticket_comments")
    loads = warehouse_rows(settings, "select count(*) from support._dlt_loads")
    api_env.update("comments", 20)
    # Every part's second page (one record of overlap before offset 100) is not JSON.
    api_env.set_faults({"name": "malformed_page", "offset": 99})

    result = materialize(settings, full_refresh=True)

    assert not result.success
    message = failure_message(result)
    assert "while reading the time part" in message
    assert "offset=99" in message
    assert "not JSON" in message
    assert warehouse_rows(settings, "select id, updated_at from support.ticket_comments") == before
    assert warehouse_rows(settings, "select count(*) from support._dlt_loads") == loads


@pytest.fixture(scope="module")
def freshdesk() -> Iterator[SandboxServer]:
    with desk_emulator("freshdesk", TICKETS, COMMENTS, SEED) as server:
        yield server


def test_freshdesk_conversations_are_read_several_tickets_at_once_and_equal_the_truth(
    freshdesk: SandboxServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    freshdesk.reset()
    freshdesk.set_faults(SLOW)
    monkeypatch.setenv("SUPPORT_API_BASE_URL", freshdesk.url)
    for name, value in desk_credentials("freshdesk", CLIENT_ID, CLIENT_SECRET).items():
        monkeypatch.setenv(name, value)
    settings = dataclasses.replace(settings, vendor="freshdesk", api=preset("freshdesk"))

    result = materialize(settings)

    assert result.success, failure_message(result)
    # The tickets' pages come one after another: overlap is the conversations' reads.
    assert 2 <= freshdesk.stats()["max_in_flight"] <= MAX_CONCURRENCY
    for resource in ("tickets", "comments"):
        assert compare_desk(settings, freshdesk, resource) == clean(settings, freshdesk, resource)
