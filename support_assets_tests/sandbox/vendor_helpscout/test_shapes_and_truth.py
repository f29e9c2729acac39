"""The helpscout emulator: shapes and truth."""

from collections import Counter

from support_assets_tests.sandbox.vendor_helpscout.desk import (
    LIST,
    LOADER,
    HelpScout,
    by_id,
    split,
)


def test_reading_every_page_of_an_unchanged_desk_yields_exactly_truth(desk: HelpScout) -> None:
    tickets, comments = split(desk.walk(**LOADER))
    assert tickets == desk.sandbox.truth("tickets")
    assert by_id(comments) == by_id(desk.sandbox.truth("comments"))
    assert len(comments) == len({c["id"] for c in comments})
    stats = desk.sandbox.stats()
    assert stats["records_served"] == {"tickets": len(tickets), "comments": len(comments)}


def test_conversations_have_the_v2_shape(desk: HelpScout) -> None:
    truth = desk.sandbox.truth("tickets")
    required = {
        "id",
        "number",
        "subject",
        "status",
        "state",
        "preview",
        "mailboxId",
        "createdBy",
        "primaryCustomer",
        "tags",
        "customFields",
        "createdAt",
        "userUpdatedAt",
    }
    for conversation in truth:
        assert required <= set(conversation) <= {*required, "assignee", "closedAt"}
        assert conversation["state"] == "published"
        assert ("closedAt" in conversation) == (conversation["status"] == "closed")
        assert all(set(tag) == {"id", "tag"} for tag in conversation["tags"])
        for field in conversation["customFields"]:
            assert set(field) == {"id", "name", "value"} and isinstance(field["value"], str)
        assert conversation["userUpdatedAt"] >= conversation["createdAt"]
    assert any("assignee" in c for c in truth) and any("assignee" not in c for c in truth)


def test_threads_are_typed_by_visibility_and_author(desk: HelpScout) -> None:
    threads = desk.sandbox.truth("comments")
    assert {t["type"] for t in threads} == {"customer", "message", "note"}
    for thread in threads:
        by_requester = thread["createdBy"]["id"] == thread["customer"]["id"]
        if thread["type"] == "customer":
            assert by_requester and thread["source"] == {"type": "email", "via": "customer"}
        else:
            assert thread["type"] == "note" or not by_requester
            assert thread["createdBy"]["type"] == "user"
        assert thread["state"] == "published"


def test_the_threads_route_pages_by_50_newest_first_as_embedded(desk: HelpScout) -> None:
    desk.sandbox.reset(tickets=1, comments=120)
    desk.login()
    truth = desk.sandbox.truth("comments")
    (busiest, count), *_ = Counter(t["ticket_id"] for t in truth).most_common()
    assert count > 100
    path = f"{LIST}/{busiest}/threads"
    sizes = []
    for number in range(1, 4):
        page = desk.page(path, page=number)
        sizes.append(len(page["_embedded"]["threads"]))
        assert ("next" in page["_links"]) == (number < 3)
    assert sizes == [50, 50, count - 100]
    threads = desk.walk(path)
    assert threads == [
        {k: v for k, v in t.items() if k != "ticket_id"} for t in truth if t["ticket_id"] == busiest
    ]
    keys = [(t["createdAt"], t["id"]) for t in threads]
    assert keys == sorted(keys, reverse=True)
    one = desk.page(f"{LIST}/{busiest}", embed="threads")
    assert one["_embedded"]["threads"] == threads


def test_deleted_conversations_and_threads_leave_the_lists_and_the_truth(
    desk: HelpScout,
) -> None:
    truth = desk.sandbox.truth("comments")
    ticket = truth[0]["ticket_id"]
    (thread,) = [t for t in truth if t["ticket_id"] != ticket][:1]
    before = {c["id"]: c for c in desk.sandbox.truth("tickets")}
    desk.sandbox.delete("tickets", ids=[ticket])
    desk.sandbox.delete("comments", ids=[thread["id"]])
    tickets, comments = split(desk.walk(**LOADER))
    assert ticket not in {c["id"] for c in tickets}
    assert {c["ticket_id"] for c in comments} <= {c["id"] for c in tickets}
    assert thread["id"] not in {c["id"] for c in comments}
    assert (tickets, by_id(comments)) == (
        desk.sandbox.truth("tickets"),
        by_id(desk.sandbox.truth("comments")),
    )
    assert desk.get(f"{LIST}/{ticket}").status_code == 404
    assert desk.get(f"{LIST}/{ticket}/threads").status_code == 404
    assert desk.get(f"{LIST}/999999").status_code == 404
    moved = next(c for c in tickets if c["id"] == thread["ticket_id"])
    assert moved["userUpdatedAt"] > before[moved["id"]]["userUpdatedAt"]


def test_a_changed_thread_moves_its_conversation_so_a_refresh_sees_it(desk: HelpScout) -> None:
    merged, cursor = desk.load()
    (created,) = desk.sandbox.create("comments", 1)
    (edited,) = desk.sandbox.update("comments", 1)
    changes, _ = desk.load(cursor)
    merged.update(changes)
    tickets, comments = split(list(merged.values()))
    assert by_id(tickets) == by_id(desk.sandbox.truth("tickets"))
    assert by_id(comments) == by_id(desk.sandbox.truth("comments"))
    assert {created, edited} <= {c["id"] for c in split(list(changes.values()))[1]}
