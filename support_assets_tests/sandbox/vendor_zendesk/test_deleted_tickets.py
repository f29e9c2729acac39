"""The zendesk emulator: the trash, `GET /api/v2/deleted_tickets`."""

from support_assets_tests.sandbox.vendor_zendesk.desk import NO_AUTH, Desk

PATH = "/api/v2/deleted_tickets"


def trash(desk: Desk, size: int) -> list[dict]:
    """Every page of the trash, following `links.next` while `meta.has_more`."""
    pages = [desk.ok(desk.server.url + PATH, **{"page[size]": size})]
    while pages[-1]["meta"]["has_more"]:
        pages.append(desk.ok(pages[-1]["links"]["next"]))
    return pages


def test_the_trash_lists_soft_deleted_tickets_oldest_first_by_cursor(desk: Desk) -> None:
    seeded = {t["id"] for t in desk.server.truth("tickets") if t["status"] == "deleted"}
    deleted = set(desk.server.delete("tickets", 3))
    desk.server.hard_delete("tickets", ids=sorted(deleted)[:1])  # purged: out of the trash

    pages = trash(desk, size=2)

    records = [record for page in pages for record in page["deleted_tickets"]]
    assert {r["id"] for r in records} == seeded | deleted - {sorted(deleted)[0]}
    assert len(records) == len({r["id"] for r in records})
    created = {t["id"]: t["created_at"] for t in desk.server.truth("tickets")}
    assert [(created[r["id"]], r["id"]) for r in records] == sorted(
        (created[r["id"]], r["id"]) for r in records
    )
    assert set(records[0]) == {
        "id",
        "subject",
        "description",
        "actor",
        "deleted_at",
        "previous_state",
    }
    assert all(len(page["deleted_tickets"]) <= 2 for page in pages)
    assert pages[-1]["links"]["next"] is None and pages[-1]["meta"]["has_more"] is False


def test_a_restored_ticket_leaves_the_trash(desk: Desk) -> None:
    (ident,) = desk.server.delete("tickets", 1)
    desk.server.restore("tickets", ids=[ident])

    ids = {r["id"] for page in trash(desk, size=100) for r in page["deleted_tickets"]}

    assert ident not in ids
    (ticket,) = [t for t in desk.server.truth("tickets") if t["id"] == ident]
    assert ticket["status"] == "open"


def test_the_trash_refuses_a_page_size_over_100_and_a_stranger(desk: Desk) -> None:
    too_big = desk.get(PATH, **{"page[size]": 101})
    stranger = desk.bare.get(desk.server.url + PATH, timeout=10)

    assert too_big.status_code == 400 and too_big.json()["error"] == "InvalidValue"
    assert stranger.status_code == 401 and stranger.json() == NO_AUTH
