"""Offset pagination over live data that loses no record, and the page checks behind it.

Offset pages over data that changes while a run reads it are not a snapshot: a record
updated mid-run moves to the end of the order and everything behind it shifts one place
forward, so a plain offset client skips a record per update. `WindowedOffsetPaginator`
reads so that it can prove it skipped nothing:

- the run reads a bounded time window, `[updated_since, updated_before)`, that ends with
  the desk's own current second (the `Date` header of the run's first response, the
  token's) less `SUPPORT_WINDOW_LAG`. Whatever the desk stamps during the run is stamped
  at or after that second, so it lands past the window or in its last second, which the
  next run reads again (its cursor is at most that second; `updated_since` is inclusive):
  records can leave the window's read part, none can enter it. Our own clock plays no
  part: a desk whose clock is behind ours would otherwise stamp records into seconds
  already read, under a cursor that then moves past them;
- a window whose `total` is larger than `window_pages` pages is split into time slices;
- the API orders by (`updated_at`, `id`), and each page after a slice's first starts a few
  records before the previous page ended. Its first record must be one already read: then
  every record now after it is on this page or a later one, so no record slid behind the
  offset unread. This compares records, not counts, so a record leaving the slice while
  another enters it cannot hide a skip. When the check fails (records before the offset
  left), the slice is read on from an earlier offset with a wider overlap; each read
  page still advances, so a slice that never stops changing (a bulk update of hundreds of
  records in one second while others keep moving) still converges. Only records leaving
  faster than half a page per request make the run fail, with the cursor unchanged.

Why this loses nothing: a record in the window when its slice is closed was either there
throughout (then the page holding its key was read after the record before it, with
nothing between them unread), or it got a new stamp during the run, which the desk's clock
puts in the window's last second at the earliest. A record that left carries a stamp at or
after that second, at or after this run's cursor, so the next run reads it. Records read
twice are merged on `id`, the newest `updated_at` winning.
"""

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol, Self, cast

import requests
from dlt.common import jsonpath, logger
from dlt.sources.helpers.rest_client.paginators import OffsetPaginator

from support_assets.source.contract import MAX_REREADS, WINDOW_PAGES
from support_assets.source.errors import IncompleteWindow, MalformedPage
from support_assets.source.page_check import PageCheck
from support_assets.source.session import describe
from support_assets.source.timestamps import format_ts, parse_ts


class PartPlanner(Protocol):
    """Who reads the slices of a split window apart, at once (see `source/parts/`)."""

    def parts_for(self, total: int) -> int:
        """Into how many parts a window of `total` records is split (1: read it whole)."""
        ...

    def read_apart(self, parts: list[tuple[dt.datetime, dt.datetime]]) -> None:
        """Read these time parts, each with a paginator of its own."""
        ...


class WindowedOffsetPaginator(OffsetPaginator):
    """Offset pages inside time slices, each page checked against the last; see the module."""

    def __init__(
        self,
        *,
        limit: int,
        offset_param: str,
        limit_param: str | None,
        total_path: str | None,
        since_param: str,
        before_param: str,
        primary_key: str,
        cursor_field: str,
        upper_bound: Callable[[], dt.datetime],
        check: PageCheck,
        window_pages: int = WINDOW_PAGES,
        max_rereads: int = MAX_REREADS,
    ) -> None:
        super().__init__(
            limit=limit,
            offset_param=offset_param,
            limit_param=limit_param or "limit",
            total_path=total_path,
            stop_after_empty_page=True,
        )
        self.total_field = total_path
        # None: the page size is never sent (the desk's own applies).
        self.page_size_param = limit_param
        self.since_param = since_param
        self.before_param = before_param
        self.primary_key = primary_key
        self.cursor_field = cursor_field
        self.upper_bound = upper_bound
        self.check = check
        self.window_pages = window_pages
        self.max_rereads = max_rereads
        self.windows: list[tuple[dt.datetime | None, dt.datetime]] = []
        # With a planner, a window too large for one reader is handed off in parts rather
        # than read slice after slice here.
        self.planner: PartPlanner | None = None
        self.rereads = 0  # pages read again after a shift, in this run, for the telemetry
        self.splits = 0
        self._reset_window()

    # --- dlt's paginator protocol -------------------------------------------------------

    def init_request(self, request: requests.Request) -> None:  # type: ignore[override]
        """Plan the run's window from the incremental start and the desk's clock."""
        params = cast(dict[str, Any], request.params if isinstance(request.params, dict) else {})
        since = params.get(self.since_param)
        before = params.get(self.before_param)
        lower = parse_ts(str(since)) if since else None
        # Even a backfill's end, capped at the run's start by our clock, must not pass the
        # desk's: what the desk stamps from now on must stay out of the window.
        upper = self.upper_bound()
        if before:
            upper = min(upper, parse_ts(str(before)))
        self.windows = [(lower, upper)] if lower is None or lower < upper else []
        self._reset_window()
        self._total_noted = False  # the desk's total of the whole read, for the progress
        self._has_next_page = bool(self.windows)
        if not self.windows:
            # An empty window: still ask once (page 0) so the run proves the API answers.
            self.windows = [(lower, upper)]
        self._apply(request)

    def update_state(self, response: requests.Response, data: list[Any] | None = None) -> None:
        """Check the page against the one before it, then step on, step back or close."""
        data = data if data is not None else []
        total = self._total(response)
        offset = self.current_value
        if offset == self.initial_value and self._first_total is None:
            self._first_total = total
            # Only the whole read's total: a time part's is a share of it, counted there.
            whole = self.planner is None or getattr(self.planner, "parent_total", None) is None
            if total is not None and whole and not getattr(self, "_total_noted", True):
                self._total_noted = True
                self.check.telemetry.note_total(self.check.resource, total)
            parts = self._parts_for(total) if total is not None else 1
            if parts > 1:
                data.clear()  # these records belong to the slices read next
                self._split(parts)
                return
        if offset > self.initial_value and not self._continues(data):
            self._step_back(offset, total)
            return
        last = self._key(data[-1]) if data else None
        if last is not None and (self._covered is None or _after(last, self._covered)):
            self._covered = last
            self._gaps = 0  # only progress ends a run of gaps: a page read again may not
        self._last_total = total
        # The page's size as served: records refused for a missing id still took a place.
        # Without a total only an empty page ends the read: a desk may serve fewer records
        # than asked (its own page cap), and a short page taken for the end lost the rest.
        if total is not None:
            exhausted = self.check.last_page_size < self.limit or offset + self.limit >= total
        else:
            exhausted = self.check.last_page_size == 0
        if exhausted:
            self._close_window()
            return
        # The next page starts `overlap` records early: its first record must be one this
        # page already holds, which proves nothing slid past the offset in between.
        self.current_value = offset + max(1, self.limit - self._overlap)

    def update_request(self, request: requests.Request) -> None:  # type: ignore[override]
        """Send the current slice's bounds and offset."""
        self._apply(request)

    # --- slices -------------------------------------------------------------------------

    def _apply(self, request: requests.Request) -> None:
        if not self.windows:
            return  # the last slice is closed; dlt asks for no further page
        if not isinstance(request.params, dict):
            request.params = {}
        params = cast(dict[str, Any], request.params)
        lower, upper = self.windows[0]
        if lower is not None:
            params[self.since_param] = format_ts(lower)
        params[self.before_param] = format_ts(upper)
        params[str(self.param_name)] = self.current_value
        if self.page_size_param:
            params[self.page_size_param] = self.limit

    def _reset_window(self) -> None:
        self.current_value = self.initial_value
        self._first_total: int | None = None
        self._last_total: int | None = None
        self._covered: tuple[Any, ...] | None = None  # the newest key read without a gap
        self._overlap = 1
        self._gaps = 0
        self.check.window_missing = 0

    def _key(self, record: Any) -> tuple[Any, ...] | None:
        """The API's sort key, (cursor, id); None when it cannot be read (dlt reports that)."""
        try:
            return (parse_ts(str(record[self.cursor_field])), record[self.primary_key])
        except (KeyError, TypeError, ValueError):
            return None

    def _continues(self, data: list[Any]) -> bool:
        """Whether this page starts at or before the newest record read so far.

        The API orders by (cursor, id), so a page whose first record is one already read
        holds every record that follows it right now: nothing can have slipped between
        the pages. A first record past it means records before the offset left (or came)
        and shifted something behind the offset unread. A vendor without a total cannot
        page back reliably either way, and pages of one record cannot overlap.
        """
        if self.total_path is None or self.limit < 2 or self._covered is None:
            return True
        if not data:
            return False  # the window shrank below the offset: what it still holds is earlier
        first = self._key(data[0])
        return first is None or not _after(first, self._covered)

    def _step_back(self, offset: int, total: int | None) -> None:
        """Read again from earlier, with a wider overlap, after records shifted under us."""
        self.rereads += 1
        self._gaps += 1
        lower, upper = self.windows[0]
        # Each gap doubles the overlap (up to half a page, so each page still advances by
        # half a page); at the widest, `max_rereads` more gaps without progress give up.
        widest = max(1, self.limit // 2)
        if self._gaps > self.max_rereads + widest.bit_length():
            raise IncompleteWindow(
                f"{self.check.resource}: the window {_fmt(lower)} .. {_fmt(upper)} changed "
                f"faster than it could be read ({self._gaps} pages in a row found records "
                "shifted past the offset, with no progress in between; total "
                f"{self._first_total} -> {total}). Nothing from this run was loaded and the "
                "cursor did not move; run again."
            )
        self._overlap = min(widest, self._overlap * 2)
        shrank = max(0, (self._last_total or 0) - (total or 0))
        self.current_value = max(self.initial_value, offset - self._overlap - shrank)
        logger.info(
            f"{self.check.resource}: {_fmt(lower)} .. {_fmt(upper)} shifted while read "
            f"(total {self._last_total} -> {total}); reading on from offset "
            f"{self.current_value} with an overlap of {self._overlap}"
        )

    def _total(self, response: requests.Response) -> int | None:
        if self.total_path is None:
            return None
        total = total_at(response.json(), str(self.total_field))
        if isinstance(total, int) and not isinstance(total, bool):
            return total
        if isinstance(total, str) and total.strip().isdecimal():
            return int(total)  # "310": the right number in the wrong JSON type
        if total is None and self._first_total is not None:
            raise MalformedPage(
                f"{self.check.resource}: {describe(response.request)} has no total at "
                f"{self.total_field!r}, while the first page of this read had one "
                f"({self._first_total}): the vendor dropped it mid-read, so the read cannot "
                "be checked for completeness. Nothing from this run was loaded and the "
                "cursor did not move; run again, and if this page keeps lacking it, ask the "
                "vendor."
            )
        raise MalformedPage(
            f"{self.check.resource}: {describe(response.request)} has no integer total at "
            f"{self.total_field!r}. Set SUPPORT_TOTAL_PATH to where the vendor puts it, or to "
            "an empty value if it sends none (completeness checks are then impossible)."
        )

    def _parts_for(self, total: int) -> int:
        if not self._splittable():
            return 1
        if self.planner is not None:
            return self.planner.parts_for(total)
        if total <= self.window_pages * self.limit:
            return 1
        return min(64, -(-total // (self.window_pages * self.limit)))

    def _splittable(self) -> bool:
        lower, upper = self.windows[0]
        return lower is not None and (upper - lower) >= dt.timedelta(seconds=2)

    def _split(self, parts: int) -> None:
        """Replace the current slice by `parts` slices of equal time, whole seconds apart."""
        lower, upper = self.windows.pop(0)
        assert lower is not None
        step = (upper - lower) / parts
        edges = sorted({(lower + step * i).replace(microsecond=0) for i in range(parts)} | {lower})
        slices = [s for s in zip(edges, [*edges[1:], upper], strict=True) if s[0] < s[1]]
        self.splits += 1
        self._reset_window()
        if self.planner is not None:
            self.planner.read_apart(slices)
            self._has_next_page = bool(self.windows)
            return
        self.windows[:0] = slices
        self._has_next_page = True

    def for_part(self, check: PageCheck, planner: PartPlanner) -> Self:
        """A paginator like this one, unused, for one time part with its own page check.

        A part's pages are checked against each other only: its offsets, overlap and
        rereads are its own, and so is the check that counts its page sizes.
        """
        part = copy.copy(self)
        part.check = check
        part.planner = planner
        part.windows = []
        part.rereads = part.splits = 0
        part._reset_window()
        return part

    def _close_window(self) -> None:
        self.check.missing_ids += self.check.window_missing
        self.windows.pop(0)
        self._reset_window()
        if not self.windows:
            self._has_next_page = False
            self.check.raise_for_rejects()


def total_at(body: Any, total_path: str) -> Any:
    """The value at the total's path: a plain key, or a JSONPath (`meta.total`)."""
    if not isinstance(body, dict):
        return None
    total = body.get(total_path)
    if total is None:
        found = jsonpath.find_values(total_path, body)
        total = found[0] if found else None
    return total


def _after(key: tuple[Any, ...], other: tuple[Any, ...]) -> bool:
    """`key > other` in the API's order; ids of mixed types compare as text."""
    try:
        return key > other
    except TypeError:
        return (key[0], str(key[1])) > (other[0], str(other[1]))


def _fmt(value: dt.datetime | None) -> str:
    return "start" if value is None else format_ts(value)
