"""The sandbox's seed data is realistic and deterministic, and mutations behave like a desk's."""

import re
from collections.abc import Callable
from itertools import groupby

import orjson
import pytest

from support_assets.sandbox import SandboxServer
from support_assets_tests.sandbox.sandbox_fixtures import (
    ANCHOR,
    COMMENTS,
    TICKETS,
    Api,
)

STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


@pytest.fixture(scope="module")
def data(sandbox: SandboxServer) -> dict[str, list[dict]]:
    sandbox.reset()
    return {"tickets": sandbox.truth("tickets"), "comments": sandbox.truth("comments")}


def _texts(data: dict[str, list[dict]]) -> str:
    return "\n".join(
        [t["subject"] + t["description"] for t in data["tickets"]]
        + [c["body"] for c in data["comments"]]
    )


def _tie_sizes(records: list[dict]) -> list[int]:
    return [len(list(g)) for _, g in groupby(records, key=lambda r: r["updated_at"])]


TRAITS: dict[str, Callable[[dict[str, list[dict]]], bool]] = {
    "ties_of_3_to_30_records": lambda d: (
        any(3 <= n <= 30 for n in _tie_sizes(d["tickets"]))
        and any(3 <= n for n in _tie_sizes(d["comments"]))
    ),
    "emoji": lambda d: "🔥" in _texts(d) and "\u200d" in _texts(d),
    "cjk": lambda d: re.search(r"[\u4e00-\u9fff\u3040-\u30ff]", _texts(d)) is not None,
    "right_to_left": lambda d: re.search(r"[\u0590-\u06ff]", _texts(d)) is not None,
    "quotes_backslashes_newlines": lambda d: all(c in _texts(d) for c in ('"', "'", "\\", "\n")),
    "comment_body_of_50_kb": lambda d: any(
        len(c["body"].encode()) >= 50 * 1024 for c in d["comments"]
    ),
    "null_priority": lambda d: any(t["priority"] is None for t in d["tickets"]),
    "null_assignee": lambda d: any(t["assignee_id"] is None for t in d["tickets"]),
    "empty_tags": lambda d: any(t["tags"] == [] for t in d["tickets"]),
    "custom_field_types": lambda d: (
        {type(v) for t in d["tickets"] for v in t["custom_fields"].values()}
        == {str, int, float, bool, type(None)}
    ),
    "deleted_tickets": lambda d: any(t["status"] == "deleted" for t in d["tickets"]),
    "every_status": lambda d: (
        {t["status"] for t in d["tickets"]}
        == {"new", "open", "pending", "solved", "closed", "deleted"}
    ),
    "comments_point_at_tickets": lambda d: (
        {c["ticket_id"] for c in d["comments"]} <= {t["id"] for t in d["tickets"]}
    ),
    "created_before_updated": lambda d: all(
        r["created_at"] <= r["updated_at"] for rs in d.values() for r in rs
    ),
    "utc_second_timestamps": lambda d: all(
        STAMP.fullmatch(r[k]) for rs in d.values() for r in rs for k in ("created_at", "updated_at")
    ),
    "newest_at_the_anchor_and_two_years_back": lambda d: (
        max(r["updated_at"] for r in d["tickets"]) <= ANCHOR
        and min(r["created_at"] for r in d["tickets"]) < "2024-09-01"
    ),
}


@pytest.mark.parametrize("trait", list(TRAITS), ids=list(TRAITS))
def test_seed_data_has_what_real_desks_have(data: dict[str, list[dict]], trait: str) -> None:
    assert TRAITS[trait](data)


def test_seed_data_has_the_requested_sizes_and_unique_ids(data: dict[str, list[dict]]) -> None:
    assert len(data["tickets"]) == len({t["id"] for t in data["tickets"]}) == TICKETS
    assert len(data["comments"]) == len({c["id"] for c in data["comments"]}) == COMMENTS


def test_comment_is_never_older_than_its_ticket(data: dict[str, list[dict]]) -> None:
    created = {t["id"]: t["created_at"] for t in data["tickets"]}
    assert all(c["created_at"] >= created[c["ticket_id"]] for c in data["comments"])


def test_same_seed_gives_the_same_data_and_another_seed_different(sandbox: SandboxServer) -> None:
    sandbox.reset(seed=7)
    first = sandbox.truth("tickets"), sandbox.truth("comments")
    sandbox.reset(seed=7)
    assert (sandbox.truth("tickets"), sandbox.truth("comments")) == first
    sandbox.reset(seed=8)
    assert sandbox.truth("tickets") != first[0]


def test_served_bytes_are_canonical_json(api: Api) -> None:
    # Generated records come from byte templates; they must equal orjson's own encoding,
    # or a changed record would differ from an unchanged one in more than its fields.
    for resource in ("tickets", "comments"):
        body = api.get(resource, limit=100).content
        assert body == orjson.dumps(orjson.loads(body))


def test_update_gives_new_content_and_the_newest_stamp(api: Api) -> None:
    sandbox = api.sandbox
    before = {t["id"]: t for t in sandbox.truth("tickets")}
    newest = max(t["updated_at"] for t in before.values())
    ids = sandbox.update("tickets", 4)
    after = sandbox.truth("tickets")
    assert len(ids) == len(set(ids)) == 4
    assert [t["id"] for t in after[-4:]] == sorted(ids)  # one second, ordered by id
    for ticket in after[-4:]:
        old = before[ticket["id"]]
        assert ticket["updated_at"] >= newest and ticket["updated_at"] > old["updated_at"]
        assert {k: v for k, v in ticket.items() if k != "updated_at"} != {
            k: v for k, v in old.items() if k != "updated_at"
        }
    assert len(after) == TICKETS


def test_created_records_get_new_ids_and_comments_point_at_live_tickets(api: Api) -> None:
    sandbox = api.sandbox
    ticket_ids = sandbox.create("tickets", 3)
    comment_ids = sandbox.create("comments", 5)
    tickets, comments = sandbox.truth("tickets"), sandbox.truth("comments")
    assert ticket_ids == [TICKETS + 1, TICKETS + 2, TICKETS + 3]
    assert comment_ids == list(range(COMMENTS + 1, COMMENTS + 6))
    assert [c["id"] for c in comments[-5:]] == comment_ids
    live = {t["id"] for t in tickets if t["status"] != "deleted"}
    assert {c["ticket_id"] for c in comments[-5:]} <= live
    assert (len(tickets), len(comments)) == (TICKETS + 3, COMMENTS + 5)


@pytest.mark.parametrize(
    ("resource", "marker"),
    [("tickets", ("status", "deleted")), ("comments", ("deleted", True))],
    ids=["ticket_status_deleted", "comment_deleted_true"],
)
def test_soft_delete_keeps_the_record_with_a_marker_and_new_stamp(
    api: Api, resource: str, marker: tuple[str, object]
) -> None:
    sandbox = api.sandbox
    ids = sandbox.delete(resource, 2)
    records = sandbox.truth(resource)
    assert [r["id"] for r in records[-2:]] == ids
    assert all(r[marker[0]] == marker[1] for r in records[-2:])
    assert len(records) == {"tickets": TICKETS, "comments": COMMENTS}[resource]
    assert not set(ids) & set(sandbox.delete(resource, 5))  # deleted records are not re-picked


def test_hard_delete_purges_tickets_and_their_comments(api: Api) -> None:
    sandbox = api.sandbox
    comments_before = sandbox.truth("comments")
    ids = sandbox.hard_delete("tickets", 5)
    tickets, comments = sandbox.truth("tickets"), sandbox.truth("comments")
    orphans = [c for c in comments_before if c["ticket_id"] in ids]
    assert len(tickets) == TICKETS - 5 and not {t["id"] for t in tickets} & set(ids)
    assert len(comments) == COMMENTS - len(orphans)
    assert api.page("tickets")["total"] == TICKETS - 5
    (comment,) = sandbox.hard_delete("comments", 1)
    assert comment not in {c["id"] for c in sandbox.truth("comments")}


def test_restore_takes_soft_deleted_records_out_of_the_trash_with_a_new_stamp(api: Api) -> None:
    sandbox = api.sandbox
    (ticket,) = sandbox.delete("tickets", 1)
    (comment,) = sandbox.delete("comments", 1)
    stamp = {t["id"]: t["updated_at"] for t in sandbox.truth("tickets")}[ticket]

    assert sandbox.restore("tickets", ids=[ticket]) == [ticket]
    assert sandbox.restore("comments", 1) == [comment]  # picked from the trash only

    restored = {t["id"]: t for t in sandbox.truth("tickets")}[ticket]
    assert restored["status"] == "open" and restored["updated_at"] >= stamp
    assert "deleted" not in {c["id"]: c for c in sandbox.truth("comments")}[comment]


def test_mutations_are_deterministic_for_a_seed(sandbox: SandboxServer) -> None:
    runs = []
    for _ in range(2):
        sandbox.reset(seed=3)
        runs.append(
            (
                sandbox.update("tickets", 5),
                sandbox.delete("comments", 3),
                sandbox.hard_delete("tickets", 2),
            )
        )
    assert runs[0] == runs[1]


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("update", ("tickets", TICKETS + 1)),
        ("update", ("customers", 1)),
        ("hard_delete", ("tickets", -1)),
    ],
    ids=["more_than_exist", "unknown_resource", "negative_count"],
)
def test_impossible_mutations_are_refused_and_change_nothing(
    api: Api, call: str, args: tuple
) -> None:
    from support_assets.sandbox import SandboxError

    before = api.sandbox.truth("tickets")
    with pytest.raises(SandboxError, match="400"):
        getattr(api.sandbox, call)(*args)
    assert api.sandbox.truth("tickets") == before


def test_ids_follow_creation_like_a_real_desk(data: dict[str, list[dict]]) -> None:
    for records in data.values():
        by_id = sorted(records, key=lambda r: r["id"])
        assert [r["created_at"] for r in by_id] == sorted(r["created_at"] for r in records)
