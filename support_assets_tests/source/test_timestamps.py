"""Timestamps as the contract writes them: RFC 3339 in UTC, naive values taken as UTC."""

import datetime as dt
import os
import time
from collections.abc import Iterator

import pytest

from support_assets.source.timestamps import aware, format_ts, parse_ts, second_after

UTC = dt.UTC
PLUS_TWO = dt.timezone(dt.timedelta(hours=2))
MINUS_FIVE_THIRTY = dt.timezone(-dt.timedelta(hours=5, minutes=30))


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-05-01T12:00:00Z", dt.datetime(2026, 5, 1, 12, tzinfo=UTC)),
        ("2026-05-01T12:00:00", dt.datetime(2026, 5, 1, 12, tzinfo=UTC)),
        ("2026-05-01T12:00:00+00:00", dt.datetime(2026, 5, 1, 12, tzinfo=UTC)),
        ("2026-05-01T14:00:00+02:00", dt.datetime(2026, 5, 1, 12, tzinfo=UTC)),
        ("2026-05-01T06:30:00-05:30", dt.datetime(2026, 5, 1, 12, tzinfo=UTC)),
        ("2026-05-01T12:00:00.250000Z", dt.datetime(2026, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)),
    ],
    ids=["z", "naive", "zero-offset", "plus-two", "minus-five-thirty", "fraction"],
)
def test_a_timestamp_parses_to_the_instant_it_names(text: str, instant: dt.datetime) -> None:
    parsed = parse_ts(text)

    assert parsed == instant
    assert parsed.tzinfo is not None


def test_a_naive_timestamp_is_taken_as_utc_not_as_local_time() -> None:
    assert parse_ts("2026-05-01T12:00:00").utcoffset() == dt.timedelta(0)
    assert aware(dt.datetime(2026, 5, 1, 12)) == dt.datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert aware("2026-05-01T12:00:00") == dt.datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_an_aware_timestamp_keeps_its_zone() -> None:
    value = dt.datetime(2026, 5, 1, 14, tzinfo=PLUS_TWO)

    assert aware(value) is value
    assert aware("2026-05-01T14:00:00+02:00").utcoffset() == dt.timedelta(hours=2)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (dt.datetime(2026, 5, 1, 12, tzinfo=UTC), "2026-05-01T12:00:00Z"),
        (dt.datetime(2026, 5, 1, 14, tzinfo=PLUS_TWO), "2026-05-01T12:00:00Z"),
        (dt.datetime(2026, 5, 1, 6, 30, tzinfo=MINUS_FIVE_THIRTY), "2026-05-01T12:00:00Z"),
        # The contract's form has whole seconds: a fraction is cut, not rounded.
        (dt.datetime(2026, 5, 1, 12, 0, 0, 999999, tzinfo=UTC), "2026-05-01T12:00:00Z"),
    ],
    ids=["utc", "plus-two", "minus-five-thirty", "fraction-cut"],
)
def test_a_timestamp_is_written_in_utc_with_a_z(value: dt.datetime, text: str) -> None:
    assert format_ts(value) == text
    assert parse_ts(format_ts(value)) == value.replace(microsecond=0)


@pytest.mark.parametrize(
    ("value", "after"),
    [
        (dt.datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC), dt.datetime(2026, 5, 1, 12, 0, 1)),
        (dt.datetime(2026, 5, 1, 12, 0, 0, 1, tzinfo=UTC), dt.datetime(2026, 5, 1, 12, 0, 1)),
        (dt.datetime(2026, 5, 1, 12, 0, 0, 999999, tzinfo=UTC), dt.datetime(2026, 5, 1, 12, 0, 1)),
        (dt.datetime(2026, 12, 31, 23, 59, 59, 500000, tzinfo=UTC), dt.datetime(2027, 1, 1)),
        (
            dt.datetime(2026, 5, 1, 14, 0, 0, 999999, tzinfo=PLUS_TWO),
            dt.datetime(2026, 5, 1, 12, 0, 1),
        ),
    ],
    ids=["at-0", "at-0.000001", "at-0.999999", "into-the-new-year", "plus-two"],
)
def test_second_after_is_the_start_of_the_next_second_in_utc(
    value: dt.datetime, after: dt.datetime
) -> None:
    # A window that ends there holds every instant of `value`'s second.
    assert second_after(value) == after.replace(tzinfo=UTC)
    assert second_after(value).tzinfo == UTC
    assert value < second_after(value)


@pytest.fixture
def machine_zone_india() -> Iterator[None]:
    """This process's local zone is UTC+05:30 for the test, restored after it."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kolkata"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.mark.usefixtures("machine_zone_india")
def test_reading_a_naive_timestamp_does_not_depend_on_the_machines_zone() -> None:
    assert time.localtime(0).tm_gmtoff == 19800  # the zone took effect
    assert parse_ts("2026-05-01T12:00:00") == dt.datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert aware(dt.datetime(2026, 5, 1, 12)) == dt.datetime(2026, 5, 1, 12, tzinfo=UTC)


@pytest.mark.usefixtures("machine_zone_india")
def test_writing_a_naive_timestamp_takes_it_as_utc_whatever_the_machines_zone() -> None:
    naive = dt.datetime(2026, 5, 1, 12, 0, 0, 500000)

    assert format_ts(naive) == "2026-05-01T12:00:00Z"
    assert second_after(naive) == dt.datetime(2026, 5, 1, 12, 0, 1, tzinfo=UTC)
