"""The windowed offset paginator: pages checked against the last, slices, and the total."""

import datetime as dt
from typing import Any

import orjson
import pytest
import requests

from support_assets.source.errors import IncompleteWindow
from support_assets.source.page_check import PageCheck
from support_assets.source.paginators.offset import WindowedOffsetPaginator, total_at
from support_assets.source.telemetry import Telemetry
from support_assets.source.timestamps import format_ts

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)


def _record(ident: int) -> dict[str, Any]:
    """Record `ident` stamped `ident` seconds into the window; 1000 is stamped at its end."""
    second = 86_000 if ident == 1000 else ident
    return {"id": ident, "updated_at": format_ts(START + dt.timedelta(seconds=second))}


def _page(ids: list[int], total: int, offset: int) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response.headers["Content-Type"] = "application/json"
    response._content = orjson.dumps({"tickets": [_record(i) for i in ids], "total": total})
    response.request = requests.Request(
        "GET", "http://desk.test/v1/tickets", params={"offset": offset, "limit": 100}
    ).prepare()
    return response


def windowed(upper: dt.datetime = END) -> WindowedOffsetPaginator:
    """The paginator over the contract's names, pages of 100, the desk's clock at `upper`."""
    return WindowedOffsetPaginator(
        limit=100,
        offset_param="offset",
        limit_param="limit",
        total_path="total",
        since_param="updated_since",
        before_param="updated_before",
        primary_key="id",
        cursor_field="updated_at",
        upper_bound=lambda: upper,
        check=PageCheck("support_tickets", "tickets", "id", "offset", Telemetry()),
    )


class Reader:
    """The paginator as dlt drives it: plan, then per page check, read and step."""

    def __init__(self) -> None:
        self.paginator = windowed()
        self.check = self.paginator.check
        self.request = requests.Request("GET", "http://desk.test/v1/tickets", params={})
        self.request.params["updated_since"] = format_ts(START)
        self.paginator.init_request(self.request)
        self.read: set[int] = set()

    @property
    def offset(self) -> int:
        return int(self.request.params["offset"])

    def feed(self, ids: list[int], total: int) -> None:
        response = _page(ids, total, self.offset)
        self.check(response)
        data = response.json()["tickets"]
        self.read.update(r["id"] for r in data)
        self.paginator.update_state(response, data)
        if self.paginator.has_next_page:
            self.paginator.update_request(self.request)


def test_a_record_entering_while_another_leaves_cannot_hide_a_skipped_record() -> None:
    # The reproduction: page 1 holds ids 0-99 of 150. Then id 5 leaves the window
    # (updated: it went later) and id 1000 is stamped inside it, so id 100 slides to
    # position 99, behind the offset, while the total stays 150.
    reader = Reader()
    reader.feed(list(range(100)), 150)
    assert reader.paginator.has_next_page

    reader.feed([*range(101, 150), 1000], 150)

    # Counts agree (150 total, 150 distinct ids read) but the page did not start at a
    # record already read: the slice is not closed, it is read on from an earlier offset.
    assert len(reader.read) == 150
    assert reader.paginator.has_next_page
    now = [*range(5), *range(6, 150), 1000]  # what the window holds now, in order
    assert reader.offset < 99
    reader.feed(now[reader.offset : reader.offset + 100], 150)
    assert not reader.paginator.has_next_page
    assert set(now) <= reader.read  # id 100 included


def test_a_slice_changing_faster_than_half_a_page_per_request_fails_and_says_so() -> None:
    reader = Reader()
    reader.feed(list(range(100)), 1000)

    # Every page past the first starts far beyond what was read, and the first page
    # never shows anything new: no overlap can catch up, so the run must give up.
    with pytest.raises(IncompleteWindow) as raised:
        for _ in range(50):
            start = 0 if reader.offset == 0 else 900
            reader.feed(list(range(start, start + 100)), 1000)

    message = str(raised.value)
    assert message.startswith("support_tickets: the window 2026-01-01T00:00:00Z .. ")
    assert "changed faster than it could be read (10 pages in a row" in message
    assert "Nothing from this run was loaded and the cursor did not move" in message


@pytest.mark.parametrize(
    ("body", "path", "total"),
    [
        ({"tickets": [], "total": 150}, "total", 150),
        ({"tickets": [], "meta": {"total": 150}}, "meta.total", 150),
        ({"tickets": [], "meta": {"page": {"count": 7}}}, "$.meta.page.count", 7),
        ({"tickets": [], "total": "310"}, "total", "310"),
        ({"tickets": [], "total": 0}, "total", 0),
        # A key with a dot in it is read as it is, before any JSONPath.
        ({"meta.total": 9, "meta": {"total": 1}}, "meta.total", 9),
        ({"tickets": []}, "total", None),
        ({"tickets": [], "meta": {}}, "meta.total", None),
        ([{"id": 1}], "total", None),
        (None, "total", None),
    ],
    ids=[
        "plain-key",
        "jsonpath",
        "jsonpath-rooted",
        "as-sent",
        "zero",
        "dotted-key",
        "absent",
        "absent-nested",
        "list-body",
        "null-body",
    ],
)
def test_the_total_is_read_at_a_plain_key_or_a_jsonpath(body: Any, path: str, total: Any) -> None:
    assert total_at(body, path) == total


def planned(since: str | None, before: str | None, upper: dt.datetime = END) -> dict[str, Any]:
    """The first page request's parameters, as the paginator plans them."""
    paginator = windowed(upper)
    params = {k: v for k, v in {"updated_since": since, "updated_before": before}.items() if v}
    request = requests.Request("GET", "http://desk.test/v1/tickets", params=params)
    paginator.init_request(request)
    return {**request.params, "has_next_page": paginator.has_next_page}


@pytest.mark.parametrize(
    ("since", "before", "expected"),
    [
        (
            "2026-01-01T00:00:00Z",
            None,
            {"updated_since": "2026-01-01T00:00:00Z", "updated_before": "2026-01-02T00:00:00Z"},
        ),
        (
            "2026-01-01T00:00:00Z",
            "2026-01-01T06:00:00Z",
            {"updated_since": "2026-01-01T00:00:00Z", "updated_before": "2026-01-01T06:00:00Z"},
        ),
        # A backfill's end past the desk's clock is cut at the desk's clock.
        (
            "2026-01-01T00:00:00Z",
            "2026-03-01T00:00:00Z",
            {"updated_since": "2026-01-01T00:00:00Z", "updated_before": "2026-01-02T00:00:00Z"},
        ),
        (None, None, {"updated_before": "2026-01-02T00:00:00Z"}),
    ],
    ids=["incremental", "backfill", "backfill-past-the-desk-clock", "no-start"],
)
def test_the_first_page_asks_for_the_window_up_to_the_desk_clock(
    since: str | None, before: str | None, expected: dict[str, Any]
) -> None:
    assert planned(since, before) == {**expected, "offset": 0, "limit": 100, "has_next_page": True}


def test_an_empty_window_still_asks_once_and_then_stops() -> None:
    # The cursor is at the desk's clock already: nothing can be in the window, but one page
    # request proves the API answers.
    assert planned("2026-01-02T00:00:00Z", None) == {
        "updated_since": "2026-01-02T00:00:00Z",
        "updated_before": "2026-01-02T00:00:00Z",
        "offset": 0,
        "limit": 100,
        "has_next_page": False,
    }


def test_a_window_of_more_than_window_pages_is_read_in_time_slices() -> None:
    reader = Reader()
    # 50 pages of 100 is the largest slice read in one go: a day holding 10,001 records
    # needs 3 slices, of 8 hours each, and the first page's records are dropped (read
    # again with their slice).
    data = [_record(i) for i in range(100)]
    reader.paginator.update_state(_page(list(range(100)), 10_001, 0), data)

    assert data == []
    assert reader.paginator.splits == 1
    assert reader.paginator.windows == [
        (START, START + dt.timedelta(hours=8)),
        (START + dt.timedelta(hours=8), START + dt.timedelta(hours=16)),
        (START + dt.timedelta(hours=16), END),
    ]
    reader.paginator.update_request(reader.request)
    assert reader.request.params == {
        "updated_since": "2026-01-01T00:00:00Z",
        "updated_before": "2026-01-01T08:00:00Z",
        "offset": 0,
        "limit": 100,
    }


def test_a_page_size_parameter_set_empty_is_never_sent() -> None:
    unsized = WindowedOffsetPaginator(
        limit=100,
        offset_param="offset",
        limit_param=None,
        total_path="total",
        since_param="updated_since",
        before_param="updated_before",
        primary_key="id",
        cursor_field="updated_at",
        upper_bound=lambda: END,
        check=PageCheck("support_tickets", "tickets", "id", "offset", Telemetry()),
    )
    request = requests.Request("GET", "http://desk.test/v1/tickets", params={})

    unsized.init_request(request)

    assert "limit" not in request.params
    assert request.params["offset"] == 0
