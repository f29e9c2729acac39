"""The re-seeking reader: every page after the first asked again from the newest cursor."""

import datetime as dt
from typing import Any

import orjson
import pytest
import requests

from support_assets.source.errors import MalformedPage
from support_assets.source.paginators.reseek import MAX_PAGES_IN_ONE_SECOND, ReseekPaginator
from support_assets.source.timestamps import format_ts

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
UPPER = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)


def reader(next_link: str | None = "header", before: str | None = None) -> ReseekPaginator:
    return ReseekPaginator(
        resource="support_tickets",
        since_param="updated_since",
        since_format="rfc3339",
        cursor_field="updated_at",
        cursor_format="rfc3339",
        primary_key="id",
        upper_bound=lambda: UPPER,
        page_param="page",
        limit_param="per_page",
        limit=3,
        before_param=before,
        next_link=next_link,
    )


def page(stamps: list[int], more: bool = True, body: dict[str, Any] | None = None) -> Any:
    """A page of records `id` i stamped START + i seconds, with a next link or not."""
    records = [
        {"id": i, "updated_at": format_ts(START + dt.timedelta(seconds=s))}
        for i, s in enumerate(stamps)
    ]
    response = requests.Response()
    response.status_code = 200
    response._content = orjson.dumps(body if body is not None else records)
    response.request = requests.Request("GET", "http://desk.test/t").prepare()
    if more:
        response.headers["Link"] = '<http://desk.test/t?page=2>; rel="next"'
    return response, records


def start(paginator: ReseekPaginator) -> requests.Request:
    request = requests.Request(
        "GET", "http://desk.test/t", params={"updated_since": format_ts(START)}
    )
    paginator.init_request(request)
    return request


def test_each_page_is_asked_again_from_the_newest_cursor_read() -> None:
    paginator = reader()
    request = start(paginator)
    assert request.params == {"updated_since": "2026-01-01T00:00:00Z", "page": 1, "per_page": 3}

    response, records = page([1, 2, 5])
    paginator.update_state(response, records)
    paginator.update_request(request)

    # Page 1 again from the newest second read: what moved behind it cannot be skipped.
    assert request.params["updated_since"] == "2026-01-01T00:00:05Z"
    assert request.params["page"] == 1
    assert paginator.has_next_page


def test_a_page_wholly_in_one_second_pages_on_inside_it() -> None:
    paginator = reader()
    request = start(paginator)
    response, records = page([3, 3, 3])
    paginator.update_state(response, records)  # since moves to second 3
    paginator.update_request(request)
    response, records = page([3, 3, 3])

    paginator.update_state(response, records)
    paginator.update_request(request)

    assert request.params["page"] == 2
    assert request.params["updated_since"] == "2026-01-01T00:00:03Z"


def test_a_second_that_never_ends_fails_naming_the_setting() -> None:
    paginator = reader()
    request = start(paginator)
    response, records = page([3, 3, 3])
    paginator.update_state(response, records)
    with pytest.raises(MalformedPage, match="SUPPORT_PAGE_SIZE"):
        for _ in range(MAX_PAGES_IN_ONE_SECOND + 1):
            response, records = page([3, 3, 3])
            paginator.update_state(response, records)
            paginator.update_request(request)


def test_records_at_or_after_the_runs_bound_are_the_next_runs() -> None:
    paginator = reader()
    start(paginator)
    late = int((UPPER - START).total_seconds())
    response, records = page([1, late - 1, late, late + 5])

    paginator.update_state(response, records)

    assert [r["id"] for r in records] == [0, 1]
    assert not paginator.has_next_page


@pytest.mark.parametrize(
    ("next_link", "more", "records", "ends"),
    [
        ("header", False, [1], True),
        ("header", True, [1], False),
        (None, False, [1], False),  # no next-link setting: a short page is not the end
        (None, False, [], True),
    ],
    ids=["no-next-link", "next-link", "short-page-without-links", "empty-page"],
)
def test_the_end_is_the_desks_own_signal(
    next_link: str | None, more: bool, records: list[int], ends: bool
) -> None:
    paginator = reader(next_link)
    start(paginator)
    response, data = page(records, more=more)

    paginator.update_state(response, data)

    assert paginator.has_next_page is not ends


def test_a_next_link_in_the_body_is_read_at_its_jsonpath() -> None:
    paginator = reader("_links.next.href")
    start(paginator)
    body = {"_embedded": {"c": []}, "_links": {"next": {"href": "http://desk.test/t?page=2"}}}
    response, _ = page([], body=body)
    records = [{"id": 1, "updated_at": "2026-01-01T00:00:01Z"}]

    paginator.update_state(response, records)

    assert paginator.has_next_page


def test_without_an_upper_bound_parameter_the_bound_is_fixed_at_the_first_answer() -> None:
    seen: list[str] = []

    def upper() -> dt.datetime:
        seen.append("asked")
        return UPPER

    paginator = reader()
    paginator.upper_bound = upper
    start(paginator)
    assert seen == []  # nothing asked before the first answer (its Date is the desk's clock)
    response, records = page([1])

    paginator.update_state(response, records)

    assert seen == ["asked"]
