"""Timestamps as the contract writes them: RFC 3339, UTC, naive values taken as UTC."""

import datetime as dt
from typing import Any

RFC3339 = "%Y-%m-%dT%H:%M:%SZ"


def format_ts(value: dt.datetime) -> str:
    """RFC 3339 in UTC with a `Z`, the form the contract sends and accepts."""
    return aware(value).astimezone(dt.UTC).strftime(RFC3339)


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
    return aware(value).astimezone(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)


# How a desk writes the since parameter: RFC 3339 text, or Unix seconds.
SINCE_FORMATS = ("rfc3339", "epoch")


def cursor_instant(value: Any, cursor_format: str = "rfc3339") -> dt.datetime:
    """A cursor value as the desk writes it, as an aware datetime.

    `rfc3339`: text such as `2024-05-01T12:00:00Z` (most desks); `epoch`: Unix seconds, a
    number or its digits (Zendesk's export). A datetime passes as it is. Anything else, a
    number where text is expected included, raises ValueError: a desk whose cursor changes
    kind is not one the loader can follow.
    """
    if isinstance(value, dt.datetime):
        return aware(value)
    if cursor_format == "epoch":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return dt.datetime.fromtimestamp(value, dt.UTC)
        if isinstance(value, str) and value.strip().isdecimal():
            return dt.datetime.fromtimestamp(int(value.strip()), dt.UTC)
    elif isinstance(value, str):
        return parse_ts(value)
    raise ValueError(f"{value!r} is not a {cursor_format} timestamp")


def format_since(value: dt.datetime, since_format: str) -> str:
    """A bound as the desk's since (or before) parameter takes it."""
    if since_format == "epoch":
        return str(int(value.timestamp()))
    return format_ts(value)
