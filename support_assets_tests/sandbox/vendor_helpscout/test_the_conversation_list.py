"""The helpscout emulator: the conversation list."""

from collections import Counter
from typing import Any

import pytest

from support_assets_tests.sandbox.vendor_helpscout.desk import (
    LIST,
    LOADER,
    HelpScout,
)


def test_the_list_defaults_to_active_conversations_25_a_page(desk: HelpScout) -> None:
    truth = desk.sandbox.truth("tickets")
    active = [c["id"] for c in truth if c["status"] == "active"]
    first = desk.page()
    assert first["page"] == {
        "size": 25,
        "totalElements": len(active),
        "totalPages": -(-len(active) // 25),
        "number": 1,
    }
    listed = desk.walk()
    assert sorted(c["id"] for c in listed) == sorted(active)
    assert {c["status"] for c in listed} == {"active"}


@pytest.mark.parametrize(
    ("status", "selects"),
    [
        ("active", {"active"}),
        ("pending", {"pending"}),
        ("closed", {"closed"}),
        ("open", {"active", "pending"}),
        ("spam", set()),
        ("all", {"active", "pending", "closed"}),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_the_status_filter_selects_the_mapped_statuses(
    desk: HelpScout, status: str, selects: set[str]
) -> None:
    expected = sorted(c["id"] for c in desk.sandbox.truth("tickets") if c["status"] in selects)
    assert sorted(c["id"] for c in desk.walk(status=status)) == expected


def test_pages_carry_hal_links_that_keep_the_query_and_end_without_next(
    desk: HelpScout,
) -> None:
    total = len(desk.sandbox.truth("tickets"))
    pages = -(-total // 25)
    response = desk.get(status="all", sortField="modifiedAt", sortOrder="asc", page=2)
    assert response.headers["Content-Type"] == "application/hal+json"
    links = response.json()["_links"]
    query = "status=all&sortField=modifiedAt&sortOrder=asc"
    base = f"{desk.sandbox.url}{LIST}?{query}"
    assert links == {
        "self": {"href": f"{base}&page=2"},
        "first": {"href": f"{base}&page=1"},
        "last": {"href": f"{base}&page={pages}"},
        "next": {"href": f"{base}&page=3"},
        "previous": {"href": f"{base}&page=1"},
        "page": {"href": f"{base}{{&page}}", "templated": True},
    }
    last = desk.page(status="all", page=pages)
    assert "next" not in last["_links"] and len(last["_embedded"]["conversations"]) == total % 25
    beyond = desk.page(status="all", page=pages + 1)
    assert beyond["_embedded"] == {"conversations": []} and "next" not in beyond["_links"]
    assert beyond["page"] == {"size": 25, "totalElements": total, "totalPages": pages, "number": 11}
    bare = desk.page()["_links"]["page"]
    assert bare == {"href": f"{desk.sandbox.url}{LIST}{{?page}}", "templated": True}


def test_a_size_parameter_changes_nothing_25_is_the_cap(desk: HelpScout) -> None:
    page = desk.page(status="all", size=100, pageSize=100, per_page=100, limit=100)
    assert len(page["_embedded"]["conversations"]) == 25 and page["page"]["size"] == 25


def test_modified_since_is_inclusive_to_the_second(desk: HelpScout) -> None:
    truth = desk.sandbox.truth("tickets")
    stamps = Counter(c["userUpdatedAt"] for c in truth)
    tied = next(stamp for stamp, count in sorted(stamps.items()) if count >= 3)
    expected = [c["id"] for c in truth if c["userUpdatedAt"] >= tied]
    listed = desk.walk(**{**LOADER, "modifiedSince": tied})
    assert [c["id"] for c in listed] == expected
    assert [c["userUpdatedAt"] for c in listed[: stamps[tied]]] == [tied] * stamps[tied]
    offset = desk.walk(**{**LOADER, "modifiedSince": tied.replace("Z", "+00:00")})
    assert [c["id"] for c in offset] == expected


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"status": "deleted"}, "status"),
        ({"sortField": "subject"}, "sortField"),
        ({"sortOrder": "up"}, "sortOrder"),
        ({"modifiedSince": "yesterday"}, "modifiedSince"),
        ({"modifiedSince": "2026-06-30"}, "modifiedSince"),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"page": ["1", "2"]}, "page"),
    ],
    ids=lambda value: (
        "-".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else ""
    ),
)
def test_bad_parameters_answer_400_in_the_vnd_error_shape(
    desk: HelpScout, params: dict[str, Any], path: str
) -> None:
    response = desk.get(**params)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/vnd.error+json"
    body = response.json()
    assert body["message"] == "Bad request" and body["logRef"]
    assert [error["path"] for error in body["_embedded"]["errors"]] == [path]


def test_sort_fields_and_orders(desk: HelpScout) -> None:
    truth = desk.sandbox.truth("tickets")
    ascending = [c["id"] for c in truth]
    assert [c["id"] for c in desk.walk(status="all", sortField="modifiedAt")] == ascending[::-1]
    created = [c["id"] for c in desk.walk(status="all", sortField="createdAt", sortOrder="asc")]
    assert created == [c["id"] for c in sorted(truth, key=lambda c: (c["createdAt"], c["id"]))]
    default = [c["id"] for c in desk.walk(status="all")]  # createdAt, newest first
    assert default == created[::-1]
    assert [c["id"] for c in desk.walk(status="all", sortField="number")] == sorted(
        ascending, reverse=True
    )
