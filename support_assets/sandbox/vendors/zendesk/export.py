"""Zendesk's two incremental exports over the store: parameters, cursors, pages, live updates.

Tickets page by an exclusive cursor on the order key; ticket events by an inclusive
`start_time`. Both bisect the store's order keys, so a page costs its records' rendering and
no scan. The citations are in the package's docstring.
"""

import base64
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from support_assets.sandbox.data import ID_BITS, ID_MASK
from support_assets.sandbox.vendors.zendesk import shapes

if TYPE_CHECKING:
    from support_assets.sandbox.state import Sandbox
    from support_assets.sandbox.store import Collection

TICKETS_PATH = "/api/v2/incremental/tickets/cursor"
EVENTS_PATH = "/api/v2/incremental/ticket_events"
MAX_PER_PAGE = 1000
RECENT_SECONDS = 60
# Parameters a next-page URL carries over from the request.
_KEPT = {"tickets": ("per_page", "exclude_deleted", "include"), "comments": ("per_page", "include")}


class Invalid(ValueError):
    """A parameter Zendesk refuses: the 400's `error` code, and the message as `description`."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code


@dataclass(frozen=True, slots=True)
class Query:
    """One validated export request; `after` is the order key a ticket cursor names."""

    resource: str
    start_time: int | None
    cursor: str | None
    after: int | None
    per_page: int
    exclude_deleted: bool
    comments: bool
    kept: list[tuple[str, str]]


def parse(resource: str, pairs: list[tuple[str, str]], sandbox: "Sandbox") -> Query:
    """Validate one export request's parameters (the last of a repeated one wins).

    Raises:
        Invalid: a parameter is missing, malformed, out of range or too recent.
    """
    params = dict(pairs)
    per_page = _integer("per_page", params["per_page"], 1) if "per_page" in params else None
    if per_page is not None and per_page > MAX_PER_PAGE:
        raise Invalid("InvalidValue", f"per_page must be at most {MAX_PER_PAGE}")
    cursor = params.get("cursor") if resource == "tickets" else None
    after = start_time = None
    if cursor is not None:
        after = decode_cursor(cursor)
    elif "start_time" not in params:
        raise Invalid("InvalidValue", "start_time is required")
    else:
        start_time = _integer("start_time", params["start_time"], 0)
        # Zendesk refuses the last minute; so does this desk, unless the start lies at or
        # before its newest record: it serves the last minute, so it gives out such times.
        newest = _newest(sandbox.collections[resource])
        if start_time > max(int(sandbox.faults.clock()) - RECENT_SECONDS, newest):
            raise Invalid(
                "StartTimeTooRecent", "Too recent start_time. Use a start_time older than 1 minute"
            )
    return Query(
        resource=resource,
        start_time=start_time,
        cursor=cursor,
        after=after,
        per_page=per_page or MAX_PER_PAGE,
        exclude_deleted=params.get("exclude_deleted") == "true",
        comments="comment_events" in params.get("include", "").split(","),
        kept=[(key, value) for key, value in pairs if key in _KEPT[resource]],
    )


def _integer(name: str, raw: str, low: int) -> int:
    if raw.isascii() and raw.isdigit() and len(raw) <= 12 and int(raw) >= low:
        return int(raw)
    raise Invalid("InvalidValue", f"{name} must be an integer >= {low}, got {raw!r}")


def encode_cursor(key: int) -> str:
    """The cursor after the record with this order key: `{stamp}.0||{id}|` in Base64."""
    text = f"{key >> ID_BITS}.0||{key & ID_MASK}|"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The order key a cursor names.

    Raises:
        Invalid: not a cursor this desk gave out.
    """
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        stamp, ident = text.removesuffix("|").split(".0||")
    except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
        raise Invalid("InvalidValue", f"cursor is not valid: {cursor!r}") from None
    if not (stamp.isdigit() and ident.isdigit() and len(stamp) <= 12 and int(ident) <= ID_MASK):
        raise Invalid("InvalidValue", f"cursor is not valid: {cursor!r}")
    return (int(stamp) << ID_BITS) | int(ident)


def _newest(target: "Collection") -> int:
    return target.keys[-1] >> ID_BITS if target.keys else 0


def tickets_page(sandbox: "Sandbox", query: Query, base: str) -> bytes:
    """One page of the cursor-based ticket export, counted as a served page."""
    target = sandbox.collections["tickets"]
    keys, rows = target.keys, target.rows
    if query.after is not None:
        start = bisect_right(keys, query.after)
    else:
        start = bisect_left(keys, (query.start_time or 0) << ID_BITS)
    if query.exclude_deleted:
        positions: list[int] = []
        stop = start
        while stop < len(keys) and len(positions) < query.per_page:
            if keys[stop] & ID_MASK not in target.deleted:
                positions.append(stop)
            stop += 1
    else:
        stop = min(len(keys), start + query.per_page)
        positions = list(range(start, stop))
    cursor = query.cursor
    if stop > start:
        last = keys[stop - 1]
        # Never a cursor inside the desk's current second: a change later in that second,
        # to a lower id, would sort before it and be skipped. Read that second again instead.
        live = max(int(sandbox.faults.clock()), _newest(target))
        if last >> ID_BITS >= live:
            last = ((live - 1) << ID_BITS) | ID_MASK
        cursor = encode_cursor(last)
    url = None
    if cursor is not None:
        url = f"{base}{TICKETS_PATH}.json?{urlencode([*query.kept, ('cursor', cursor)])}"
    records = [shapes.ticket(rows[i], keys[i]) for i in positions]
    sandbox.page_served("tickets", len(records))
    return b'{"tickets":[%b],"after_url":%b,"after_cursor":%b,%b"end_of_stream":%b}' % (
        b",".join(records),
        _json_string(url),
        _json_string(cursor),
        b'"before_url":null,"before_cursor":null,',
        b"true" if stop >= len(keys) else b"false",
    )


def events_page(sandbox: "Sandbox", query: Query, base: str) -> bytes:
    """One page of the time-based ticket-event export, counted as a served page."""
    target = sandbox.collections["comments"]
    keys, rows = target.keys, target.rows
    start_time = query.start_time or 0
    start = bisect_left(keys, start_time << ID_BITS)
    stop = min(len(keys), start + query.per_page)
    events = [shapes.event(rows[i], keys[i], query.comments) for i in range(start, stop)]
    end_time = keys[stop - 1] >> ID_BITS if stop > start else start_time
    next_page = f"{base}{EVENTS_PATH}.json?{urlencode([*query.kept, ('start_time', end_time)])}"
    sandbox.page_served("comments", len(events))
    return b'{"ticket_events":[%b],"count":%d,"end_time":%d,"next_page":%b,"end_of_stream":%b}' % (
        b",".join(events),
        len(events),
        end_time,
        _json_string(next_page),
        b"true" if stop >= len(keys) else b"false",
    )


def _json_string(value: str | None) -> bytes:
    # Cursors and URLs here are ASCII without quotes or backslashes.
    return b"null" if value is None else b'"%b"' % value.encode()


def live_update(sandbox: "Sandbox", query: Query, url: str, attempt: int) -> None:
    """Move records from before the request's starting point to the end of the order.

    A ticket page asked by cursor follows another; an event page does when its `start_time`
    is past 0 (`next_page` never goes back there).
    """
    if (query.after is None) if query.resource == "tickets" else not query.start_time:
        return
    target = sandbox.collections[query.resource]
    for index in range(int(sandbox.faults.active["live_updates"]["per_page"])):
        if query.after is not None:
            passed = bisect_right(target.keys, query.after)
        else:
            passed = bisect_left(target.keys, (query.start_time or 0) << ID_BITS)
        if passed <= 0:
            return
        position = sandbox.faults.pick(url, attempt, index, passed)
        target.revise(target.ids(position, position + 1)[0], sandbox.stamp(target))
        sandbox.stats.fault("live_updates")
