"""The freshdesk emulator: the tickets list."""

import time
from email.utils import parsedate_to_datetime
from itertools import groupby
from typing import Any

import pytest

from support_assets.sandbox.vendors.freshdesk.shapes import render_conversation, render_ticket
from support_assets_tests.sandbox.sandbox_fixtures import ANCHOR, TICKETS
from support_assets_tests.sandbox.vendor_freshdesk.desk import (
    EPOCH,
    LOADER,
    TICKETS_PATH,
    Desk,
    epoch,
    live,
    stripped,
)


def test_the_list_is_a_bare_array_of_30_by_default_newest_created_first(
    desk: Desk, truth: list[dict[str, Any]]
) -> None:
    page = desk.ok(updated_since=EPOCH)
    expected = sorted(live(truth), key=lambda t: (t["created_at"], t["id"]), reverse=True)
    assert page == [stripped(t) for t in expected[:30]]


@pytest.mark.parametrize(
    ("order_by", "key"),
    [
        ("updated_at", lambda t: (t["updated_at"], t["id"])),
        ("created_at", lambda t: (t["created_at"], t["id"])),
        ("due_by", lambda t: (t["created_at"], t["id"])),
        ("status", lambda t: (t["status"], t["created_at"], t["id"])),
    ],
    ids=["updated_at", "created_at", "due_by", "status"],
)
@pytest.mark.parametrize("order_type", ["asc", "desc"])
def test_every_order_lists_every_live_ticket_once(
    desk: Desk, truth: list[dict[str, Any]], order_by: str, key: Any, order_type: str
) -> None:
    records = desk.follow(updated_since=EPOCH, order_by=order_by, order_type=order_type)
    expected = sorted(live(truth), key=key, reverse=order_type == "desc")
    assert records == [stripped(t) for t in expected]
    assert len(records) == len(live(truth)) < TICKETS


def test_the_next_link_repeats_the_query_with_the_next_page_and_the_last_page_has_none(
    desk: Desk, truth: list[dict[str, Any]]
) -> None:
    query = f"updated_since={EPOCH.replace(':', '%3A')}&per_page=100&order_by=updated_at"
    response = desk.session.get(f"{desk.sandbox.url}{TICKETS_PATH}?{query}", timeout=10)
    assert (
        response.headers["Link"] == f'<{desk.sandbox.url}{TICKETS_PATH}?{query}&page=2>; rel="next"'
    )
    second = desk.session.get(response.links["next"]["url"], timeout=10)
    assert second.links["next"]["url"] == f"{desk.sandbox.url}{TICKETS_PATH}?{query}&page=3"
    last = desk.session.get(second.links["next"]["url"], timeout=10)
    assert "Link" not in last.headers
    assert len(last.json()) == len(live(truth)) - 200
    assert desk.ok(updated_since=EPOCH, per_page=100, page=4) == []


def test_descriptions_come_with_include_description_and_each_include_costs_two_credits(
    desk: Desk, truth: list[dict[str, Any]]
) -> None:
    desk.sandbox.set_faults({"name": "desk_clock", "frozen": 1})  # one rate-limit minute
    used = []
    for include in (None, "description", "description,requester,stats"):
        params: dict[str, Any] = {**LOADER, "updated_since": EPOCH, "per_page": 5}
        if include:
            params["include"] = include
        else:
            del params["include"]
        response = desk.get(**params)
        used.append(
            (
                response.headers["X-RateLimit-Used-CurrentRequest"],
                response.headers["X-RateLimit-Remaining"],
                response.headers["X-RateLimit-Total"],
            )
        )
        first = response.json()[0]
        if include is None:
            assert first == stripped(truth[0]) and "description" not in first
        elif include == "description":
            assert first == truth[0]
            assert first["description"].startswith("<div>")
        else:
            assert first["requester"]["id"] == first["requester_id"]
            assert set(first["stats"]) >= {"resolved_at", "closed_at", "status_updated_at"}
    assert used == [("1", "199", "200"), ("3", "196", "200"), ("7", "189", "200")]


def test_updated_since_is_inclusive_to_the_second(desk: Desk, truth: list[dict[str, Any]]) -> None:
    rows = live(truth)
    runs = [list(g) for _, g in groupby(rows, key=lambda t: t["updated_at"])]
    position = next(i for i, run in enumerate(runs) if len(run) >= 3 and i > 0)
    tie = runs[position]
    records = desk.ok(**LOADER, updated_since=tie[0]["updated_at"])
    expected = [t for run in runs[position:] for t in run][:100]
    assert records == expected
    assert [r["id"] for r in records[: len(tie)]] == [t["id"] for t in tie]


def test_without_updated_since_only_tickets_created_in_the_last_30_days(
    desk: Desk, truth: list[dict[str, Any]]
) -> None:
    offset = epoch(ANCHOR) - int(time.time())
    desk.sandbox.set_faults({"name": "desk_clock", "frozen": 1, "offset": offset})
    response = desk.get(per_page=100)
    now = int(parsedate_to_datetime(response.headers["Date"]).timestamp())
    cutoff = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 30 * 86400))
    recent = [t for t in live(truth) if t["created_at"] >= cutoff]
    expected = sorted(recent, key=lambda t: (t["created_at"], t["id"]), reverse=True)
    assert response.json() == [stripped(t) for t in expected]
    assert 0 < len(expected) < len(live(truth))


def test_deleted_tickets_are_listed_only_with_filter_deleted(
    desk: Desk, truth: list[dict[str, Any]]
) -> None:
    deleted = [t for t in truth if t.get("deleted")]
    assert deleted and all(t["status"] == 5 for t in deleted)
    assert desk.follow(**LOADER, updated_since=EPOCH, filter="deleted") == deleted
    assert not any(t.get("deleted") for t in desk.follow(**LOADER, updated_since=EPOCH))
    (gone,) = desk.sandbox.delete("tickets", ids=[live(truth)[0]["id"]])
    listed = desk.follow(**LOADER, updated_since=EPOCH, filter="deleted")
    assert [t["id"] for t in listed] == [t["id"] for t in deleted] + [gone]
    assert listed[-1]["deleted"] is True
    assert gone not in {t["id"] for t in desk.follow(**LOADER, updated_since=EPOCH)}


def test_spam_and_watching_list_nothing_and_new_and_my_open_lists_open_unassigned(
    desk: Desk, truth: list[dict[str, Any]]
) -> None:
    for name in ("spam", "watching"):
        assert desk.ok(updated_since=EPOCH, filter=name) == []
    unassigned = desk.follow(**LOADER, updated_since=EPOCH, filter="new_and_my_open")
    expected = [t for t in live(truth) if t["status"] == 2 and t["responder_id"] is None]
    assert unassigned == expected and expected


def test_tickets_render_the_store_record_in_freshdesk_shape() -> None:
    record = {
        "id": 7,
        "subject": "Refund <now>",
        "description": "First & second.\n\nLine one\nline two",
        "status": "solved",
        "priority": "urgent",
        "requester_id": 1042,
        "assignee_id": 117,
        "tags": ["billing"],
        "custom_fields": {"plan": "pro", "vip": True},
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-02T00:00:00Z",
    }
    assert render_ticket(record, ("description",)) == {
        "id": 7,
        "subject": "Refund <now>",
        "status": 4,
        "priority": 4,
        "requester_id": 1042,
        "responder_id": 117,
        "tags": ["billing"],
        "custom_fields": {"cf_plan": "pro", "cf_vip": True},
        "spam": False,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-02T00:00:00Z",
        "description": "<div>First &amp; second.</div><div>Line one<br>line two</div>",
        "description_text": "First & second.\n\nLine one\nline two",
    }
    statuses = {
        s: render_ticket({**record, "status": s})["status"]
        for s in ("new", "open", "pending", "solved", "closed", "deleted")
    }
    assert statuses == {"new": 2, "open": 2, "pending": 3, "solved": 4, "closed": 5, "deleted": 5}
    assert render_ticket({**record, "status": "deleted"})["deleted"] is True
    priorities = {
        p: render_ticket({**record, "priority": p})["priority"]
        for p in ("low", "normal", "high", "urgent", None)
    }
    assert priorities == {"low": 1, "normal": 2, "high": 3, "urgent": 4, None: 1}


def test_conversations_render_the_store_comment_in_freshdesk_shape() -> None:
    comment = {
        "id": 3,
        "ticket_id": 7,
        "author_id": 1042,
        "body": "Thanks <b>",
        "public": False,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    assert render_conversation(comment, requester_id=1042) == {
        "id": 3,
        "body": "<div>Thanks &lt;b&gt;</div>",
        "body_text": "Thanks <b>",
        "incoming": True,
        "private": True,
        "user_id": 1042,
        "ticket_id": 7,
        "source": 2,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    public = render_conversation({**comment, "public": True}, requester_id=1)
    assert (public["private"], public["incoming"], public["source"]) == (False, False, 0)
