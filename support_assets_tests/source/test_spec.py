"""The keys the source reads from dlt's config: its dates, read as UTC instants."""

import datetime as dt
from typing import Any

import pytest

from support_assets.source.spec import instant


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-01", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
        ("2024-01-01T12:30:00Z", dt.datetime(2024, 1, 1, 12, 30, tzinfo=dt.UTC)),
        ("2024-01-01T12:30:00+02:00", dt.datetime(2024, 1, 1, 10, 30, tzinfo=dt.UTC)),
        ("2024-01-01 12:30:00", dt.datetime(2024, 1, 1, 12, 30, tzinfo=dt.UTC)),
        (dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, tzinfo=dt.UTC)),
        (dt.datetime(2024, 1, 2, 3), dt.datetime(2024, 1, 2, 3, tzinfo=dt.UTC)),
        (1704067200, dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
    ],
    ids=["date-text", "utc-text", "offset-text", "naive-text", "date", "naive", "epoch"],
)
def test_start_and_end_dates_are_read_as_utc_instants(value: Any, expected: dt.datetime) -> None:
    assert instant(value, "start_date") == expected


def test_a_date_that_is_not_one_names_the_argument() -> None:
    with pytest.raises(ValueError, match=r"end_date='yesterday' is not a date \(2024-01-01\)"):
        instant("yesterday", "end_date")
