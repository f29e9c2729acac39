"""The zendesk emulator: the ticket export."""

import base64
import calendar
import time

import pytest

from support_assets_tests.sandbox.sandbox_fixtures import TICKETS
from support_assets_tests.sandbox.vendor_zendesk.desk import (
    EVENTS_PATH,
    FROZEN,
    TICKETS_PATH,
    Desk,
    tickets_of,
)


def test_cursor_export_of_an_unchanged_desk_yields_exactly_the_truth(desk: Desk) -> None:
    pages = desk.ticket_pages(start_time=0, per_page=100)
    assert [page["end_of_stream"] for page in pages] == [False, False, True]
    assert [len(page["tickets"]) for page in pages] == [100, 100, TICKETS - 200]
    assert tickets_of(pages) == desk.server.truth("tickets")
    assert set(pages[0]) == {
        "tickets",
        "after_url",
        "after_cursor",
        "before_url",
        "before_cursor",
        "end_of_stream",
    }
    assert all(page["after_url"].endswith("cursor=" + page["after_cursor"]) for page in pages)
    assert all("per_page=100" in page["after_url"] for page in pages)
    stats = desk.server.stats()
    assert stats["requests"] == {f"GET {TICKETS_PATH}": {"200": 3}}
    assert stats["records_served"]["tickets"] == TICKETS


def test_tickets_carry_zendesks_fields_and_order(desk: Desk) -> None:
    tickets = tickets_of(desk.ticket_pages(start_time=0))
    assert list(tickets[0]) == [
        "id",
        "created_at",
        "updated_at",
        "generated_timestamp",
        "subject",
        "raw_subject",
        "description",
        "priority",
        "status",
        "requester_id",
        "assignee_id",
        "tags",
        "custom_fields",
    ]
    for ticket in tickets:
        stamp = calendar.timegm(time.strptime(ticket["updated_at"], "%Y-%m-%dT%H:%M:%SZ"))
        assert ticket["generated_timestamp"] == stamp
        assert [field["id"] for field in ticket["custom_fields"]] == [
            360001000001,
            360001000002,
            360001000003,
            360001000004,
            360001000005,
        ]
    order = [(ticket["generated_timestamp"], ticket["id"]) for ticket in tickets]
    assert order == sorted(order) and len(tickets) == TICKETS


def test_idle_refresh_from_the_last_cursor_is_one_empty_page_with_the_same_cursor(
    desk: Desk,
) -> None:
    last = desk.ticket_pages(start_time=0)[-1]
    desk.server.reset_stats()
    page = desk.ok(last["after_url"])
    assert page["tickets"] == [] and page["end_of_stream"] is True
    assert (page["after_cursor"], page["after_url"]) == (last["after_cursor"], last["after_url"])
    assert desk.server.stats()["requests"] == {f"GET {TICKETS_PATH}": {"200": 1}}


def test_refresh_reads_a_change_made_later_in_the_live_second_to_a_lower_id(desk: Desk) -> None:
    desk.server.set_faults(FROZEN)
    cursor = desk.ticket_pages(start_time=0)[-1]["after_cursor"]
    desk.server.update("tickets", ids=[200])
    first = desk.ok(desk.server.url + TICKETS_PATH, cursor=cursor)
    assert [ticket["id"] for ticket in first["tickets"]] == [200] and first["end_of_stream"]
    desk.server.update("tickets", ids=[5])  # the same desk second, an id before 200
    second = desk.ok(first["after_url"])
    assert [ticket["id"] for ticket in second["tickets"]] == [5, 200]
    assert second["after_cursor"] == first["after_cursor"]  # still the end of the second before


def test_start_time_selects_tickets_generated_at_or_after_it(desk: Desk) -> None:
    truth = desk.server.truth("tickets")
    start = truth[100]["generated_timestamp"]
    expected = [ticket for ticket in truth if ticket["generated_timestamp"] >= start]
    assert tickets_of(desk.ticket_pages(start_time=start, per_page=50)) == expected
    assert len(expected) == TICKETS - next(
        i for i, ticket in enumerate(truth) if ticket["generated_timestamp"] == start
    )


def test_a_start_time_that_finds_nothing_answers_null_cursors(desk: Desk) -> None:
    newest = desk.server.truth("tickets")[-1]["generated_timestamp"]
    page = desk.ok(desk.server.url + TICKETS_PATH, start_time=newest + 1)
    assert page == {
        "tickets": [],
        "after_url": None,
        "after_cursor": None,
        "before_url": None,
        "before_cursor": None,
        "end_of_stream": True,
    }


def test_exclude_deleted_drops_deleted_tickets_that_the_export_otherwise_keeps(
    desk: Desk,
) -> None:
    desk.server.delete("tickets", ids=[3, 9])
    everything = tickets_of(desk.ticket_pages(start_time=0, per_page=40))
    pages = desk.ticket_pages(start_time=0, per_page=40, exclude_deleted="true")
    assert {t["id"]: t["status"] for t in everything if t["id"] in (3, 9)} == {
        3: "deleted",
        9: "deleted",
    }
    assert tickets_of(pages) == [t for t in everything if t["status"] != "deleted"]
    assert len(everything) == TICKETS
    assert all("exclude_deleted=true" in page["after_url"] for page in pages)


@pytest.mark.parametrize("path", [TICKETS_PATH, EVENTS_PATH], ids=["tickets", "events"])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"start_time": "yesterday"},
        {"start_time": "-1"},
        {"start_time": "1.5"},
        {"start_time": 0, "per_page": "0"},
        {"start_time": 0, "per_page": "1001"},
    ],
    ids=["no_start_time", "word", "negative", "fraction", "per_page_0", "per_page_1001"],
)
def test_malformed_export_parameters_get_400_invalid_value(desk: Desk, path: str, params) -> None:
    response = desk.get(path, **params)
    assert (response.status_code, response.json()["error"]) == (400, "InvalidValue")
    assert response.headers["X-Rate-Limit"] == "700"


@pytest.mark.parametrize(
    "cursor", ["garbage!", base64.b64encode(b"12.5||x|").decode()], ids=["garbage", "not_ours"]
)
def test_a_cursor_this_desk_never_gave_gets_400_invalid_value(desk: Desk, cursor: str) -> None:
    response = desk.get(TICKETS_PATH, cursor=cursor)
    assert (response.status_code, response.json()["error"]) == (400, "InvalidValue")


@pytest.mark.parametrize("path", [TICKETS_PATH, EVENTS_PATH], ids=["tickets", "events"])
@pytest.mark.parametrize("ahead", [-30, 3600], ids=["half_a_minute_ago", "an_hour_ahead"])
def test_a_start_time_in_the_last_minute_or_the_future_is_too_recent(
    desk: Desk, path: str, ahead: int
) -> None:
    response = desk.get(path, start_time=int(time.time()) + ahead)
    assert response.status_code == 400
    assert response.json() == {
        "error": "StartTimeTooRecent",
        "description": "Too recent start_time. Use a start_time older than 1 minute",
    }
