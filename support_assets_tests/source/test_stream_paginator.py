"""A change stream followed by its own cursor or next URL, to its own end."""

import datetime as dt
from typing import Any

import orjson
import pytest
import requests

from support_assets.source.errors import MalformedPage
from support_assets.source.paginators.stream import StreamPaginator

NOW = dt.datetime(2026, 1, 2, 12, 0, tzinfo=dt.UTC)
UPPER = NOW - dt.timedelta(seconds=59)


def stream(**changes: Any) -> StreamPaginator:
    options: dict[str, Any] = {
        "resource": "support_tickets",
        "since_param": "start_time",
        "since_format": "epoch",
        "cursor_field": "generated_timestamp",
        "cursor_format": "epoch",
        "upper_bound": lambda: UPPER,
        "desk_now": lambda: NOW,
        "min_since_age": 60,
        "next_cursor_path": "after_cursor",
        "cursor_param": "cursor",
        "next_url_path": "next_page",
        "end_path": "end_of_stream",
        "limit_param": "per_page",
        "limit": 1000,
    }
    return StreamPaginator(**{**options, **changes})


def answer(body: dict[str, Any]) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = orjson.dumps(body)
    response.request = requests.Request("GET", "http://desk.test/export").prepare()
    return response


def first(paginator: StreamPaginator, since: int) -> requests.Request:
    request = requests.Request("GET", "http://desk.test/export", params={"start_time": since})
    paginator.init_request(request)
    return request


def test_a_start_younger_than_the_desk_accepts_is_moved_back() -> None:
    request = first(stream(), int(NOW.timestamp()) - 10)

    assert request.params == {"start_time": str(int(NOW.timestamp()) - 60), "per_page": 1000}


def test_an_old_enough_start_is_sent_as_it_is() -> None:
    request = first(stream(), 1_700_000_000)

    assert request.params["start_time"] == 1_700_000_000


def test_later_pages_send_only_the_streams_cursor() -> None:
    paginator = stream()
    request = first(paginator, 1_700_000_000)
    records = [{"id": 1, "generated_timestamp": 1_700_000_100}]

    paginator.update_state(answer({"after_cursor": "abc", "end_of_stream": False}), records)
    paginator.update_request(request)

    assert request.params == {"cursor": "abc", "per_page": 1000}
    assert paginator.has_next_page


def test_without_a_cursor_the_next_url_is_followed_whole() -> None:
    paginator = stream()
    request = first(paginator, 1_700_000_000)
    url = "http://desk.test/events?start_time=1700000100"

    paginator.update_state(answer({"next_page": url, "end_of_stream": False}), [])
    paginator.update_request(request)

    assert request.url == url
    assert request.params == {}


def test_the_stream_ends_where_it_says_so() -> None:
    paginator = stream()
    first(paginator, 1_700_000_000)

    paginator.update_state(answer({"after_cursor": "abc", "end_of_stream": True}), [])

    assert not paginator.has_next_page


def test_records_at_or_after_the_runs_bound_are_the_next_runs() -> None:
    paginator = stream()
    first(paginator, 1_700_000_000)
    bound = int(UPPER.timestamp())
    records = [{"id": i, "generated_timestamp": bound - 1 + i} for i in range(3)]

    paginator.update_state(answer({"after_cursor": "abc", "end_of_stream": False}), records)

    assert [r["id"] for r in records] == [0]
    assert not paginator.has_next_page


def test_a_stream_without_a_position_to_follow_is_refused() -> None:
    with pytest.raises(ValueError, match="SUPPORT_NEXT_CURSOR_PATH"):
        stream(next_cursor_path=None, next_url_path=None)


def test_a_stream_that_points_at_the_page_it_served_fails_naming_the_setting() -> None:
    paginator = stream()
    first(paginator, 1_700_000_000)
    url = "http://desk.test/events?start_time=1700000100"
    records = [{"id": 1, "generated_timestamp": 1_700_000_100}]
    paginator.update_state(answer({"next_page": url, "end_of_stream": False}), records)

    with pytest.raises(MalformedPage, match="SUPPORT_PAGE_SIZE"):
        paginator.update_state(answer({"next_page": url, "end_of_stream": False}), list(records))
