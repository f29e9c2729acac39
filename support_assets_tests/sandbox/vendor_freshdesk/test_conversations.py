"""The freshdesk emulator: conversations."""

from itertools import groupby

import pytest

from support_assets_tests.sandbox.sandbox_fixtures import COMMENTS, TICKETS
from support_assets_tests.sandbox.vendor_freshdesk.desk import (
    TICKETS_PATH,
    Desk,
    Loader,
    by_id,
)


def test_conversations_come_oldest_first_30_a_page_with_a_next_link(desk: Desk) -> None:
    comments = desk.sandbox.truth("comments")
    assert len(comments) == COMMENTS
    ticket, group = max(
        (
            (t, list(g))
            for t, g in groupby(
                sorted(comments, key=lambda c: c["ticket_id"]), key=lambda c: c["ticket_id"]
            )
        ),
        key=lambda pair: len(pair[1]),
    )
    expected = sorted(group, key=lambda c: (c["created_at"], c["id"]))
    path = f"{TICKETS_PATH}/{ticket}/conversations"
    assert len(expected) > 2
    assert desk.ok(path) == expected[:30]
    paged = desk.follow(path, per_page=2)
    assert paged == expected
    response = desk.get(path, per_page=2)
    assert response.links["next"]["url"] == f"{desk.sandbox.url}{path}?per_page=2&page=2"


def test_conversations_of_an_unknown_or_purged_ticket_answer_404(desk: Desk) -> None:
    assert desk.get(f"{TICKETS_PATH}/{TICKETS + 1}/conversations").status_code == 404
    desk.sandbox.hard_delete("tickets", ids=[5])
    assert desk.get(f"{TICKETS_PATH}/5/conversations").status_code == 404
    assert desk.get(f"{TICKETS_PATH}/6/conversations").status_code == 200


def test_conversations_refuse_unknown_fields_and_pages_over_100(desk: Desk) -> None:
    path = f"{TICKETS_PATH}/1/conversations"
    response = desk.get(path, per_page=101, include="stats")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["include", "per_page"]


@pytest.mark.parametrize("action", ["create", "update", "delete"])
def test_a_changed_conversation_bumps_its_ticket_for_an_incremental_loader(
    desk: Desk, action: str
) -> None:
    loader = Loader(desk)
    loader.run()
    comments = desk.sandbox.truth("comments")
    if action == "create":
        (ident,) = desk.sandbox.create("comments", 1)
    else:
        ident = comments[0]["id"]
        getattr(desk.sandbox, action)("comments", ids=[ident])
    assert loader.run()["conversations"] == 1
    truth = desk.sandbox.truth("comments")
    assert by_id(loader.comments()) == by_id(truth)
    assert by_id(loader.tickets.values()) == by_id(desk.sandbox.truth("tickets"))
    assert (ident in by_id(truth)) == (action != "delete")


def test_changes_made_before_the_first_request_still_bump_their_tickets(desk: Desk) -> None:
    before = by_id(desk.sandbox.truth("tickets"))  # truth indexes the conversations now
    desk.sandbox.reset()
    comment = desk.sandbox.update("comments", 1)[0]
    ticket = by_id(desk.sandbox.truth("comments"))[comment]["ticket_id"]
    after = by_id(desk.sandbox.truth("tickets"))
    changed = [i for i in after if after[i]["updated_at"] != before[i]["updated_at"]]
    assert changed == [ticket]
