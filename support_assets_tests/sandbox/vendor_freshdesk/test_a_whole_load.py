"""The freshdesk emulator: a whole load."""

from support_assets_tests.sandbox.sandbox_fixtures import TICKETS
from support_assets_tests.sandbox.vendor_freshdesk.desk import (
    TICKETS_PATH,
    Desk,
    Loader,
    by_id,
)


def test_a_re_seeking_loader_reads_exactly_truth_with_known_request_counts(desk: Desk) -> None:
    loader = Loader(desk)
    first = loader.run()
    truth_tickets = desk.sandbox.truth("tickets")
    assert by_id(list(loader.tickets.values())) == by_id(truth_tickets)
    assert by_id(loader.comments()) == by_id(desk.sandbox.truth("comments"))
    deleted = sum(1 for t in truth_tickets if t.get("deleted"))
    assert first == {"list": 4, "conversations": TICKETS}
    assert deleted == 6
    assert loader.run() == {"list": 2, "conversations": 0}  # idle: one call per pass
    requests_by_route = desk.sandbox.stats()["requests"]
    assert requests_by_route[f"GET {TICKETS_PATH}"] == {"200": 6}
    edited = desk.sandbox.update("tickets", 5) + desk.sandbox.delete("tickets", 2)
    created = desk.sandbox.create("comments", 3)
    changed = loader.run()
    assert by_id(list(loader.tickets.values())) == by_id(desk.sandbox.truth("tickets"))
    comments = by_id(desk.sandbox.truth("comments"))
    assert by_id(loader.comments()) == comments
    touched = {*edited, *(comments[ident]["ticket_id"] for ident in created)}
    assert changed == {"list": 2, "conversations": len(touched)}


def test_a_loader_follows_the_page_number_when_a_whole_page_shares_the_cursor_second(
    desk: Desk,
) -> None:
    loader = Loader(desk)
    loader.run()
    edited = desk.sandbox.update("tickets", 150)  # one mutation: one stamp for all 150
    # the old cursor's ties and 100 edits; then 100 edits at one second; then page 2: 50
    assert loader.run() == {"list": 3 + 1, "conversations": 150}
    assert by_id(list(loader.tickets.values())) == by_id(desk.sandbox.truth("tickets"))
    assert len({loader.tickets[i]["updated_at"] for i in edited}) == 1
