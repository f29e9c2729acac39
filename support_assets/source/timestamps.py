"""Timestamps as the contract writes them: RFC 3339, UTC, naive values taken as UTC."""

import datetime as dt

RFC3339 = "%Y-%m-%dT%H:%M:%SZ"


def format_ts(value: dt.datetime) -> str:
    """RFC 3339 in UTC with a `Z`, the form the contract sends and accepts."""
    return value.astimezone(dt.UTC).strftime(RFC3339)


def parse_ts(value: str) -> dt.datetime:
    """Parse an RFC 3339 timestamp; naive values are taken as UTC."""
    return aware(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))


def aware(value: dt.datetime | str) -> dt.datetime:
    """A timestamp from a warehouse, the dlt state or a tag, with its time zone.

    Warehouses hand `timestamp` columns back naive (DuckDB) or aware (Postgres), and dlt's
    state keeps strings: a naive value is UTC, as the loader wrote it.
    """
    if isinstance(value, str):
        return parse_ts(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def second_after(value: dt.datetime) -> dt.datetime:
    """The start of the second after `value`'s: a window that ends there holds that second."""
    return value.astimezone(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
