"""A run's window: where it ends by the desk's clock, and the full refresh's window."""

import datetime as dt
import logging

import pytest
import requests
from dlt.common import logger as dlt_logger

from support_assets.source.window import (
    OPEN_END,
    LoadWindow,
    ServerClock,
    full_refresh_window,
    window_end,
)

UTC = dt.UTC
DESK_NOON = "Tue, 30 Jun 2026 12:00:00 GMT"
OUR_CLOCK = dt.datetime(2026, 6, 30, 12, 0, 42, 250000, tzinfo=UTC)


def answered(date: str | None) -> requests.Response:
    """A response as the desk sends it, with this `Date` header (or none)."""
    response = requests.Response()
    response.status_code = 200
    if date is not None:
        response.headers["Date"] = date
    return response


def clock_after(*dates: str | None) -> ServerClock:
    clock = ServerClock()
    for date in dates:
        clock.observe(answered(date))
    return clock


class OurClock:
    """This machine's clock, counting how often the window asked it."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dt.datetime:
        self.calls += 1
        return OUR_CLOCK


@pytest.fixture
def dlt_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> pytest.LogCaptureFixture:
    """What the source logs through dlt's logger (which logs nowhere outside a pipeline)."""
    monkeypatch.setattr(dlt_logger, "LOGGER", logging.getLogger("support_assets_tests.dlt"))
    caplog.set_level(logging.WARNING, logger="support_assets_tests.dlt")
    return caplog


@pytest.mark.parametrize(
    ("lag", "end"),
    [
        (0, dt.datetime(2026, 6, 30, 12, 0, 1, tzinfo=UTC)),
        (5, dt.datetime(2026, 6, 30, 11, 59, 56, tzinfo=UTC)),
    ],
    ids=["no-lag", "lag-5s"],
)
def test_the_window_ends_after_the_desks_current_second_less_the_lag(
    lag: int, end: dt.datetime, dlt_log: pytest.LogCaptureFixture
) -> None:
    ours = OurClock()

    assert window_end(clock_after(DESK_NOON), lag, ours) == end
    # The desk's clock decides; ours, 42 s ahead of it, is not even read.
    assert ours.calls == 0
    assert dlt_log.messages == []


def test_without_a_date_header_the_window_ends_by_our_clock_with_a_warning(
    dlt_log: pytest.LogCaptureFixture,
) -> None:
    ours = OurClock()

    end = window_end(clock_after(None), 2, ours)

    assert end == dt.datetime(2026, 6, 30, 12, 0, 41, tzinfo=UTC)
    assert ours.calls == 1
    [warning] = dlt_log.messages
    assert warning.startswith("The Support API sent no Date header")
    assert "SUPPORT_WINDOW_LAG" in warning


@pytest.mark.parametrize(
    ("dates", "kept"),
    [
        ([DESK_NOON, "Tue, 30 Jun 2026 12:00:09 GMT"], dt.datetime(2026, 6, 30, 12, tzinfo=UTC)),
        ([None, "not a date", DESK_NOON], dt.datetime(2026, 6, 30, 12, tzinfo=UTC)),
        # An offset is converted; a date whose zone is unknown (-0000) says nothing.
        (
            ["Tue, 30 Jun 2026 09:00:00 -0000", "Tue, 30 Jun 2026 14:00:00 +0200"],
            dt.datetime(2026, 6, 30, 12, tzinfo=UTC),
        ),
        ([None, "", "yesterday"], None),
    ],
    ids=["first-wins", "unparseable-skipped", "offset-converted", "none-parse"],
)
def test_the_clock_keeps_the_first_date_header_that_parses(
    dates: list[str | None], kept: dt.datetime | None
) -> None:
    clock = clock_after(*dates)

    assert clock.date == kept
    if kept is not None:
        assert clock.date is not None and clock.date.tzinfo == UTC


def test_a_full_refresh_reads_from_the_start_to_past_any_clock() -> None:
    start = dt.datetime(2024, 1, 1, tzinfo=UTC)

    for window in (LoadWindow(start=start), LoadWindow(start, dt.datetime(2026, 1, 1, tzinfo=UTC))):
        refresh = full_refresh_window(window)
        # Bounded, so dlt ignores its stored cursor, and only the desk's clock ends the read.
        assert refresh == LoadWindow(start=start, end=OPEN_END)
        assert OPEN_END == dt.datetime(9999, 1, 1, tzinfo=UTC)
