"""Each page parsed once and checked before anything of it is kept; no body in any message."""

from typing import Any

import orjson
import pytest
import requests

from support_assets.source.errors import (
    DuplicateIdInPage,
    MalformedPage,
    RecordsWithoutId,
    RequestRefused,
    SupportApiError,
    UnusableIds,
)
from support_assets.source.page_check import PageCheck, check_unique_ids
from support_assets.source.telemetry import Telemetry

# A customer's words: they must never reach an error message.
PRIVATE = "my card number is 4111"
WHERE = "support_tickets: GET /v1/tickets?offset=200&limit=100 answered HTTP 200 (application/json)"


def ticket(ident: Any, **fields: Any) -> dict[str, Any]:
    return {"id": ident, "subject": PRIVATE, "updated_at": "2026-06-30T12:00:00Z", **fields}


def answered(
    body: Any, status: int = 200, offset: int = 200, limit: int = 100
) -> requests.Response:
    """A response of the desk to a tickets page request; bytes are sent as they are."""
    response = requests.Response()
    response.status_code = status
    response.headers["Content-Type"] = "application/json"
    response._content = body if isinstance(body, bytes) else orjson.dumps(body)
    response.request = requests.Request(
        "GET", "http://desk.test/v1/tickets", params={"offset": offset, "limit": limit}
    ).prepare()
    return response


def checked(response: requests.Response, check: PageCheck | None = None) -> PageCheck:
    check = check or PageCheck("support_tickets", "tickets", "id", "offset", Telemetry())
    check(response)
    return check


def test_a_page_is_parsed_once_counted_and_handed_on() -> None:
    response = answered({"tickets": [ticket(1), ticket(2)], "total": 2})

    check = checked(response)

    # dlt's data selector and the paginator's total read this very parse.
    assert response.json() is response.json()
    assert response.json() == {"tickets": [ticket(1), ticket(2)], "total": 2}
    assert check.last_page_size == 2
    assert (dict(check.telemetry.pages), dict(check.telemetry.records)) == (
        {"support_tickets": 1},
        {"support_tickets": 2},
    )


@pytest.mark.parametrize(
    ("body", "error", "says"),
    [
        (
            {"tickets": {"id": 1, "subject": PRIVATE}},
            MalformedPage,
            f"{WHERE} without a list at data selector 'tickets' (keys: ['tickets'])",
        ),
        (
            {"results": [ticket(1)], "total": 1},
            MalformedPage,
            f"{WHERE} without a list at data selector 'tickets' (keys: ['results', 'total'])",
        ),
        (
            [ticket(1)],
            MalformedPage,
            f"{WHERE} without a list at data selector 'tickets' (keys: list)",
        ),
        (
            f"<html><p>{PRIVATE}</p></html>".encode(),
            MalformedPage,
            f"{WHERE} with a body that is not JSON.",
        ),
        (
            f'{{"tickets": [{{"id": 1, "subject": "{PRIVATE}\xff"}}]}}'.encode("latin-1"),
            MalformedPage,
            f"{WHERE} with a body that is not valid JSON: byte 57 (0xff) is not UTF-8",
        ),
        (
            b'{"tickets": [{"id": 1, "subject": "\\ud800"}]}',
            MalformedPage,
            f"{WHERE} with a body that is not valid JSON: it escapes a lone UTF-16 surrogate",
        ),
        (
            {"tickets": [ticket(7), ticket(8), ticket(7, updated_at="2026-06-30T12:00:01Z")]},
            DuplicateIdInPage,
            "support_tickets: GET /v1/tickets?offset=200&limit=100 lists 1 id(s) more than "
            "once: id 7 (updated_at 2026-06-30T12:00:00Z, 2026-06-30T12:00:01Z).",
        ),
    ],
    ids=[
        "object-at-selector",
        "no-data-key",
        "list-body",
        "html",
        "not-utf8",
        "lone-surrogate",
        "duplicate-id",
    ],
)
def test_a_page_that_is_not_a_page_is_refused_naming_the_request_not_the_body(
    body: Any, error: type[SupportApiError], says: str
) -> None:
    with pytest.raises(error) as refused:
        checked(answered(body))

    message = str(refused.value)
    assert message.startswith(says)
    assert "Nothing from this run was loaded and the cursor did not move" in message
    assert PRIVATE not in message


@pytest.mark.parametrize(
    ("body", "records"),
    [
        (b'\xef\xbb\xbf{"tickets": [{"id": 1}], "total": 1}', [{"id": 1}]),
        (
            b'{"tickets": [{"id": 1, "assignee_id": NaN}, {"id": 2, "score": -Infinity}]}',
            [{"id": 1, "assignee_id": None}, {"id": 2, "score": None}],
        ),
    ],
    ids=["utf8-bom", "nan-and-infinity-as-null"],
)
def test_what_is_safe_to_read_is_read(body: bytes, records: list[dict[str, Any]]) -> None:
    response = answered(body)

    checked(response)

    assert response.json()["tickets"] == records


def test_records_without_an_id_are_left_out_counted_and_refused_when_the_read_closes() -> None:
    response = answered({"tickets": [ticket(1), {"subject": PRIVATE}, ticket(3)], "total": 3})

    check = checked(response)

    assert [r["id"] for r in response.json()["tickets"]] == [1, 3]
    assert (check.last_page_size, check.window_missing, check.missing_id_offsets) == (3, 1, [200])
    check.missing_ids += check.window_missing  # the paginator's part, when a slice closes
    with pytest.raises(RecordsWithoutId) as refused:
        check.raise_for_rejects()
    assert str(refused.value).startswith(
        "support_tickets: 1 record(s) without 'id' (pages at offsets [200]). They cannot be merged"
    )


def test_ids_no_key_column_can_hold_are_refused_one_by_one() -> None:
    page = [ticket(1), ticket(1.5), ticket(2**63 + 5), ticket("7"), ticket(True)]
    response = answered({"tickets": page, "total": 5})

    check = checked(response)

    assert [r["id"] for r in response.json()["tickets"]] == [1]
    assert check.id_type is int
    check.missing_ids += check.window_missing
    with pytest.raises(UnusableIds) as refused:
        check.raise_for_rejects()
    assert str(refused.value).startswith(
        "support_tickets: 4 record(s) with an unusable 'id' (id 1.5 on the page at offset 200: "
        "a float; id 9223372036854775813 on the page at offset 200: beyond a 64-bit integer; "
        "id '7' on the page at offset 200: a str where this resource's ids are ints; id True on "
        "the page at offset 200: a bool). A primary key never changes type"
    )


def test_a_vendor_field_named_like_a_loader_column_is_kept_under_another_name() -> None:
    response = answered({"tickets": [ticket(1, _dlt_id="v-1"), ticket(2, _dlt_id="v-2")]})

    check = checked(response)

    assert [(r["vendor_dlt_id"], "_dlt_id" in r) for r in response.json()["tickets"]] == [
        ("v-1", False),
        ("v-2", False),
    ]
    assert check.renamed == {"_dlt_id": "vendor_dlt_id"}
    assert check.telemetry.renamed_fields == {"support_tickets": {"_dlt_id": "vendor_dlt_id"}}


@pytest.mark.parametrize("status", [400, 422], ids=["400", "422"])
def test_a_refused_page_request_quotes_the_vendor_and_names_the_settings(status: int) -> None:
    vendor = {"error": "invalid_request", "message": "limit must be at most 100"}

    with pytest.raises(RequestRefused) as refused:
        checked(answered(vendor, status=status, limit=500))

    message = str(refused.value)
    assert message.startswith(
        f"support_tickets: GET /v1/tickets?offset=200&limit=500 was refused with HTTP {status}: "
        "'limit must be at most 100; invalid_request'."
    )
    assert "lower SUPPORT_PAGE_SIZE" in message


@pytest.mark.parametrize("status", [304, 401, 503], ids=["304", "401", "503"])
def test_other_failures_are_left_to_dlts_status_check(status: int) -> None:
    response = answered(b"<html>upstream</html>", status=status)

    check = checked(response)

    assert check.telemetry.pages == {}
    with pytest.raises(requests.JSONDecodeError):
        response.json()  # untouched: not parsed, not cached


def test_a_page_with_unique_ids_passes() -> None:
    check_unique_ids([ticket(1), ticket(2), ticket("2")], "id", "updated_at", "page")


def test_a_duplicate_lists_each_repeated_id_with_its_stamps() -> None:
    page = [ticket(i) for i in (1, 2, 1, 3, 2)]

    with pytest.raises(DuplicateIdInPage, match=r"^page lists 2 id\(s\) more than once: id 1 "):
        check_unique_ids(page, "id", "updated_at", "page")
