"""The zendesk emulator: the ticket-event export (comments)."""

from support_assets_tests.sandbox.sandbox_fixtures import COMMENTS
from support_assets_tests.sandbox.vendor_zendesk.desk import (
    EVENTS_PATH,
    FROZEN,
    Desk,
    comments_of,
)


def test_event_export_of_an_unchanged_desk_yields_the_truth_with_boundary_duplicates(
    desk: Desk,
) -> None:
    pages = desk.event_pages(start_time=0, per_page=100, include="comment_events")
    rows = comments_of(pages)
    truth = desk.server.truth("comments")
    assert list({row["id"]: row for row in rows}.values()) == truth and len(truth) == COMMENTS
    # next_page starts at end_time, inclusive: the events of that second come again.
    repeated = sum(
        sum(event["timestamp"] == page["end_time"] for event in page["ticket_events"])
        for page in pages[:-1]
    )
    assert len(rows) == COMMENTS + repeated and repeated > 0
    assert [page["count"] for page in pages[:-1]] == [100] * (len(pages) - 1)
    kept = "per_page=100&include=comment_events&start_time="
    assert all(page["next_page"].endswith(f"{kept}{page['end_time']}") for page in pages)
    assert set(pages[0]) == {"ticket_events", "count", "end_time", "next_page", "end_of_stream"}
    event = pages[0]["ticket_events"][0]
    assert event["child_events"][0]["audit_id"] == event["id"]


def test_events_without_the_comment_side_load_carry_only_comment_flags(desk: Desk) -> None:
    page = desk.ok(desk.server.url + EVENTS_PATH, start_time=0, per_page=5)
    truth = desk.server.truth("comments")[:5]
    children = [event["child_events"][0] for event in page["ticket_events"]]
    assert [(c["id"], c["comment_present"], c["comment_public"]) for c in children] == [
        (row["id"], True, row["public"]) for row in truth
    ]
    assert not any("body" in child for child in children)


def test_events_sharing_one_second_beyond_a_page_name_the_same_start_time_again(
    desk: Desk,
) -> None:
    desk.server.set_faults(FROZEN)
    desk.server.update("comments", ids=[10, 20, 30, 40, 50])  # one desk second, the newest
    stamp = desk.ok(desk.server.url + EVENTS_PATH, start_time=0)["end_time"]
    page = desk.ok(desk.server.url + EVENTS_PATH, start_time=stamp, per_page=3)
    assert (page["count"], page["end_time"], page["end_of_stream"]) == (3, stamp, False)
    assert [event["child_events"][0]["id"] for event in page["ticket_events"]] == [10, 20, 30]
    assert page["next_page"].endswith(f"start_time={stamp}")
    assert desk.ok(page["next_page"]) == page  # forever, as Zendesk's does


def test_idle_event_refresh_returns_the_events_of_the_last_second_again(desk: Desk) -> None:
    last = desk.event_pages(start_time=0, include="comment_events")[-1]
    at_end = [e for e in last["ticket_events"] if e["timestamp"] == last["end_time"]]
    page = desk.ok(last["next_page"])
    assert page["ticket_events"] == at_end and page["end_of_stream"] is True
    assert (page["end_time"], page["next_page"]) == (last["end_time"], last["next_page"])
