"""Query and timestamp parsing for the collection endpoints, strict as the contract reads.

A lenient server hides client bugs that a real vendor would answer with a 400, so anything
that is not exactly an integer or an RFC 3339 timestamp with a zone is refused.
"""

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode

MAX_LIMIT = 100
_MAX_OFFSET = 10**18 - 1

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)


class BadRequest(ValueError):
    """A parameter the contract does not allow; the message goes into the 400 body."""


@dataclass(frozen=True, slots=True)
class PageQuery:
    """A validated collection request; `url` keys the fault decisions."""

    offset: int
    limit: int
    since: int | None
    before: int | None
    route: str
    pairs: list[tuple[str, str]]

    @property
    def url(self) -> str:
        """Method, path and sorted query: the same URL however the client orders it."""
        return f"{self.route}?{urlencode(sorted(self.pairs))}"


def parse_rfc3339(value: str) -> int:
    """Return the first whole second at or after the instant `value` names.

    Records carry whole seconds, so rounding a fractional bound up keeps both
    `updated_since >= t` and `updated_before < t` exact.

    Raises:
        ValueError: `value` is not an RFC 3339 date-time with a zone.
    """
    match = _RFC3339.fullmatch(value)
    if not match:
        raise ValueError(value)
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zulu, sign, off_h, off_m = match.groups()[6:]
    offset = timedelta(0)
    if not zulu:
        if int(off_h) > 23 or int(off_m) > 59:
            raise ValueError(value)
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (1 if sign == "+" else -1)
    moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
    epoch = calendar.timegm(moment.utctimetuple())
    return epoch + 1 if fraction and fraction.strip("0") else epoch


def _integer(name: str, raw: str, low: int, high: int) -> int:
    # At most 18 digits: int() refuses very long digit strings, and no offset needs more.
    if raw.isascii() and raw.isdigit() and len(raw) <= 18 and low <= int(raw) <= high:
        return int(raw)
    bound = f"from {low} to {high}" if high < _MAX_OFFSET else f">= {low}"
    raise BadRequest(f"{name} must be an integer {bound}, got {raw!r}")


def parse_page_query(method: str, path: str, query_string: bytes) -> PageQuery:
    """Validate offset, limit, updated_since and updated_before; ignore other parameters.

    Raises:
        BadRequest: a parameter is malformed, out of range or given twice.
    """
    text = query_string.decode("latin-1")
    if "%" in text or "+" in text:
        pairs = parse_qsl(text, keep_blank_values=True, errors="replace")
    else:  # the usual case, without escapes: a third of parse_qsl's time
        pairs = [(key, value) for key, _, value in (p.partition("=") for p in text.split("&") if p)]
    seen: dict[str, str] = {}
    for key, value in pairs:
        if key in seen and key in ("offset", "limit", "updated_since", "updated_before"):
            raise BadRequest(f"{key} is given more than once")
        seen[key] = value
    offset = _integer("offset", seen["offset"], 0, _MAX_OFFSET) if "offset" in seen else 0
    limit = _integer("limit", seen["limit"], 1, MAX_LIMIT) if "limit" in seen else MAX_LIMIT
    bounds: list[int | None] = []
    for name in ("updated_since", "updated_before"):
        raw = seen.get(name)
        if raw is None:
            bounds.append(None)
            continue
        try:
            bounds.append(parse_rfc3339(raw))
        except (ValueError, OverflowError):
            raise BadRequest(
                f"{name} must be an RFC 3339 timestamp with a zone, e.g. 2024-05-01T12:00:00Z;"
                f" got {raw!r}"
            ) from None
    return PageQuery(offset, limit, bounds[0], bounds[1], f"{method} {path}", pairs)
