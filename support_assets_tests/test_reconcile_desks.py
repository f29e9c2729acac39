"""The reconcile on each preset against its emulator: what each desk's listing can tell."""

import dataclasses
from collections.abc import Iterator

import pytest

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import (
    COMMENTS,
    SEED,
    TICKETS,
    desk_emulator,
    failure_message,
    materialize,
    point_at_desk,
    warehouse_rows,
)
from support_assets_tests.test_checks import check_results
from support_assets_tests.test_reconcile import comments_of, marked, reconcile, run_metadata
from support_assets_tests.test_vendors import desk_later

# What each desk's listing finds of two tickets deleted to its trash and one purged: the
# trash of Zendesk and Freshdesk names the first two; Help Scout's list of every
# conversation lacks all three.
FINDS_PURGED = {"zendesk": False, "freshdesk": False, "helpscout": True}
# The requests of each listing here: Zendesk's trash (one page), Freshdesk's deleted and
# spam lists (a page each), Help Scout's token and every conversation's page twice over
# (235 in 11 pages, re-seeking; the second read only the newest page).
REQUESTS = {"zendesk": 1, "freshdesk": 2, "helpscout": 1 + 11 + 1}


@pytest.fixture(scope="module", params=list(FINDS_PURGED))
def desk_server(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    with desk_emulator(request.param, TICKETS, COMMENTS, SEED) as server:
        yield server


@pytest.fixture
def desk(
    desk_server: SandboxServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> tuple[SandboxServer, Settings]:
    return point_at_desk(desk_server, settings, monkeypatch)


def loaded(settings: Settings) -> set[int]:
    return {row[0] for row in warehouse_rows(settings, "select id from support.support_tickets")}


def in_trash(server: SandboxServer) -> set[int]:
    """Soft-deleted tickets, as each emulator's truth shows them."""
    return {
        t["id"] for t in server.truth("tickets") if t.get("deleted") or t.get("status") == "deleted"
    }


@pytest.mark.parametrize("arrow", [True, False], ids=["arrow-pages", "row-path"])
def test_deleted_tickets_are_marked_with_their_comments_and_unmarked_when_restored(
    desk: tuple[SandboxServer, Settings], arrow: bool
) -> None:
    server, settings = desk
    settings = dataclasses.replace(settings, arrow_pages=arrow)
    assert materialize(settings).success
    # Zendesk exports its trash with the rest (`status: "deleted"`): the seed's are loaded.
    seeded = loaded(settings) & in_trash(server)
    live = sorted(loaded(settings) - seeded)
    trashed = set(server.delete("tickets", ids=live[:2]))
    purged = set(server.hard_delete("tickets", ids=live[2:3]))

    result = reconcile(settings)

    assert result.success, failure_message(result)
    gone = seeded | trashed | (purged if FINDS_PURGED[settings.vendor] else set())
    assert marked(settings, "support_tickets") == gone
    assert marked(settings, "ticket_comments") == comments_of(settings, gone) != set()
    assert run_metadata(result)["requests"] == REQUESTS[settings.vendor]

    server.restore("tickets", ids=sorted(trashed))
    server.set_faults(*desk_later(settings))  # Zendesk serves changes a minute old
    assert materialize(settings).success

    still = seeded | (purged if FINDS_PURGED[settings.vendor] else set())
    assert marked(settings, "support_tickets") == still
    assert marked(settings, "ticket_comments") == comments_of(settings, still)


def test_the_live_rows_check_counts_what_the_desk_counts(
    desk: tuple[SandboxServer, Settings],
) -> None:
    server, settings = desk
    assert materialize(settings).success
    server.delete("tickets", ids=sorted(loaded(settings) - in_trash(server))[:2])
    assert reconcile(settings).success

    result = check_results(settings)[("support_tickets", "matches_api_total")]

    metadata = {key: value.value for key, value in result.metadata.items()}
    if settings.vendor == "helpscout":  # `page.totalElements` of every conversation
        assert result.passed
        assert metadata["warehouse_rows"] == metadata["api_total"] == len(truth_ids(server))
    else:  # Zendesk and Freshdesk count nothing: said, not failed
        assert result.passed and metadata["checkable"] is False
        assert "no total" in metadata["reason"]


def truth_ids(server: SandboxServer) -> set[int]:
    return {t["id"] for t in server.truth("tickets")}
