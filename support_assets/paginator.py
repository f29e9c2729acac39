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

import contextlib
import datetime as dt
import json
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any, Self, cast
from urllib.parse import parse_qsl, urlsplit

import orjson
import requests
from dlt.common import jsonpath, logger
from dlt.sources.helpers.rest_client.paginators import OffsetPaginator

from support_assets.http import SupportApiError, Telemetry, describe

RFC3339 = "%Y-%m-%dT%H:%M:%SZ"


class MalformedPage(SupportApiError):
    """A 200 response that is not the page the contract describes."""


class IncompleteWindow(SupportApiError):
    """The API's `total` and what the run read disagree even after re-reading."""


class RequestRefused(SupportApiError):
    """The API refused a page request as malformed: a setting does not fit this vendor."""


class RecordsWithoutId(SupportApiError):
    """Records without a primary key: they cannot be merged, so nothing is loaded."""


class UnusableIds(RecordsWithoutId):
    """Primary keys of a type the key column cannot hold; refused like missing ones."""


class DuplicateIdInPage(MalformedPage):
    """One page lists the same id twice: no re-read can make that page agree with `total`."""


# A primary key never changes type: integers that fit BIGINT, or strings, one kind per
# resource. A float id (1.5) would turn the whole key column into DOUBLE.
_INT64 = (-(2**63), 2**63 - 1)
_BOM = b"\xef\xbb\xbf"
# Vendor fields named like the loader's own columns are kept under this prefix.
LOADER_PREFIX = "_dlt_"
# Pages above this size are measured record by record: a single large record (an export
# pasted into a comment) needs DuckDB's memory cap raised for the load.
LARGE_PAGE_BYTES = 1024**2
VENDOR_PREFIX = "vendor"


def format_ts(value: dt.datetime) -> str:
    """RFC 3339 in UTC with a `Z`, the form the contract sends and accepts."""
    return value.astimezone(dt.UTC).strftime(RFC3339)


def parse_ts(value: str) -> dt.datetime:
    """Parse an RFC 3339 timestamp; naive values are taken as UTC."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class PageCheck:
    """Response hook: parse each page once, and refuse pages that are not pages.

    dlt would parse the body twice (records, then `total`), turn a non-JSON body into a
    bare `JSONDecodeError` and a missing data key into an empty page, ending the resource
    green with partial data. Here the parsed body is cached on the response and anything
    off fails the run with the URL, offset, status and content type — never the body,
    which may hold customers' personal data.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        # dlt deep-copies its rest_api configuration; one run shares this object.
        return self

    def __init__(
        self,
        resource: str,
        data_selector: str,
        primary_key: str,
        offset_param: str,
        telemetry: Telemetry,
        cursor_field: str = "updated_at",
    ) -> None:
        self.resource = resource
        self.data_selector = data_selector
        self.primary_key = primary_key
        self.offset_param = offset_param
        self.telemetry = telemetry
        self.missing_ids = 0
        self.window_missing = 0
        self.cursor_field = cursor_field
        self.id_type: type | None = None  # int or str, from the first usable id
        # (offset, id, why) of refused ids, deduplicated over re-reads.
        self.unusable_ids: dict[tuple[int, str], str] = {}
        self.renamed: dict[str, str] = {}  # vendor field -> the column that keeps it
        self.last_page_size = 0
        self.missing_id_offsets: list[int] = []

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Check and cache one final (post-retry) response."""
        if response.status_code in (400, 422):
            raise RequestRefused(_refused(self.resource, response))
        if response.status_code >= 300:
            return  # dlt's raise-for-status hook, next in line, reports it
        request = response.request
        content_type = response.headers.get("Content-Type", "no content type")
        where = (
            f"{self.resource}: {describe(request)} answered HTTP {response.status_code} "
            f"({content_type})"
        )
        body = self._parse(response.content, where)
        records = body.get(self.data_selector) if isinstance(body, dict) else None
        if not isinstance(records, list):
            keys = sorted(body)[:10] if isinstance(body, dict) else type(body).__name__
            raise MalformedPage(
                f"{where} without a list at data selector {self.data_selector!r} (keys: "
                f"{keys}). Nothing from this run was loaded and the cursor did not move; "
                "check the selector setting for this resource."
            )
        self.last_page_size = len(records)
        keep = [r for r in records if isinstance(r, dict) and r.get(self.primary_key) is not None]
        if len(keep) != len(records):
            offset = _query_int(request, self.offset_param)
            self.window_missing += len(records) - len(keep)
            if len(self.missing_id_offsets) < 5 and offset not in self.missing_id_offsets:
                self.missing_id_offsets.append(offset)
        usable = self._refuse_unusable_ids(keep, request)
        if len(usable) != len(records):
            body[self.data_selector] = keep = usable
        check_unique_ids(
            keep, self.primary_key, self.cursor_field, f"{self.resource}: {describe(request)}"
        )
        if b'"' + LOADER_PREFIX.encode() in response.content:  # a C scan; renaming is rare
            self._keep_loader_named_fields(keep)
        if len(response.content) > LARGE_PAGE_BYTES and keep:
            self._note_largest_record(keep)
        self.telemetry.count_page(self.resource, len(records))
        # Every later reader (dlt's data selector, the paginator's total) gets this parse.
        response.json = lambda **_: body  # type: ignore[method-assign]

    def raise_for_rejects(self) -> None:
        """Fail the resource if any record lacked its primary key; none of them is written."""
        if self.unusable_ids:
            examples = "; ".join(
                f"id {ident} on the page at offset {offset}: {why}"
                for (offset, ident), why in list(self.unusable_ids.items())[:5]
            )
            without = self.missing_ids - len(self.unusable_ids)
            raise UnusableIds(
                f"{self.resource}: {len(self.unusable_ids)} record(s) with an unusable "
                f"{self.primary_key!r} ({examples})"
                f"{f', and {without} without one' if without > 0 else ''}. A primary key "
                "never changes type: the loader accepts integers between -2^63 and 2^63-1, "
                "or strings, one kind per resource. Nothing from this run was loaded and the "
                "cursor did not move; ask the vendor, or set SUPPORT_PRIMARY_KEY to a field "
                "that is a stable key."
            )
        if self.missing_ids:
            raise RecordsWithoutId(
                f"{self.resource}: {self.missing_ids} record(s) without {self.primary_key!r} "
                f"(pages at offsets {self.missing_id_offsets}). They cannot be merged, so "
                "nothing from this run was loaded and the cursor did not move; ask the vendor "
                "or fix the primary key setting."
            )

    # --- parsing and record checks (hostile pages) -------------------------------------

    def _parse(self, content: bytes, where: str) -> Any:
        """The page's JSON; what is safe to accept is accepted, the rest named exactly.

        Accepted: a UTF-8 byte-order mark (RFC 8259 lets a parser ignore it), and the
        non-JSON literals `NaN`, `Infinity` and `-Infinity`, read as null, since no JSON
        column or number column can hold them as sent. Refused with the reason: bytes that
        are not UTF-8 and escapes of lone surrogates (no character; no warehouse can store
        them), and anything else that is not JSON.
        """
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass
        if content.startswith(_BOM):
            content = content[len(_BOM) :]
            with contextlib.suppress(orjson.JSONDecodeError):
                return orjson.loads(content)
        refused = (
            f"{where} with a body that is not valid JSON: {{}}. Nothing from this run was "
            "loaded and the cursor did not move; running again will not help while the "
            "vendor serves this page; ask the vendor to fix it."
        )
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedPage(
                refused.format(
                    f"byte {exc.start} (0x{content[exc.start]:02x}) is not UTF-8; the loader "
                    "reads UTF-8 JSON only (RFC 8259)"
                )
            ) from None
        constants: list[str] = []
        try:
            body = json.loads(text, parse_constant=lambda name: constants.append(name))
        except (ValueError, RecursionError):
            raise MalformedPage(
                f"{where} with a body that is not JSON. Nothing from this run was loaded and "
                "the cursor did not move; run again, and if it persists check the base URL."
            ) from None
        try:
            orjson.dumps(body)
        except orjson.JSONEncodeError:
            raise MalformedPage(
                refused.format(
                    "it escapes a lone UTF-16 surrogate (such as \\ud800), which is no "
                    "character; the loader accepts surrogates only in pairs"
                )
            ) from None
        if constants:
            logger.warning(
                f"{where}: {len(constants)} value(s) written {sorted(set(constants))}, which "
                "is not JSON; they were read as null."
            )
        return body

    def _refuse_unusable_ids(
        self, records: list[dict[str, Any]], request: requests.PreparedRequest
    ) -> list[dict[str, Any]]:
        """The records whose id can be a key; the others are counted and named."""
        key = self.primary_key
        ids = [record[key] for record in records]
        kind = self.id_type
        if kind is None:
            kind = self.id_type = next((type(i) for i in ids if type(i) in (int, str)), None)
        if all(type(i) is kind for i in ids) and (
            kind is not int or not ids or (min(ids) >= _INT64[0] and max(ids) <= _INT64[1])
        ):
            return records  # the usual page: one C-speed pass per test
        offset = _query_int(request, self.offset_param)
        usable = []
        for record in records:
            why = _unusable_id(record[key], kind)
            if why is None:
                usable.append(record)
            else:
                self.window_missing += 1
                self.unusable_ids.setdefault((offset, repr(record[key])), why)
        return usable

    def _note_largest_record(self, records: list[dict[str, Any]]) -> None:
        size, record = max((len(orjson.dumps(r)), i) for i, r in enumerate(records))
        self.telemetry.note_record_size(self.resource, records[record][self.primary_key], size)

    def _keep_loader_named_fields(self, records: list[dict[str, Any]]) -> None:
        """Move vendor fields named like the loader's columns (`_dlt_id`) out of their way.

        dlt writes its own `_dlt_id` and `_dlt_load_id` over them; kept as `vendor_dlt_id`
        they survive, and the materialization notes the renaming.
        """
        for record in records:
            for name in [n for n in record if n.startswith(LOADER_PREFIX)]:
                kept = VENDOR_PREFIX + name
                record[kept] = record.pop(name)
                if name not in self.renamed:
                    self.renamed[name] = kept
                    self.telemetry.note_renamed(self.resource, name, kept)


def _unusable_id(value: Any, kind: type | None) -> str | None:
    if type(value) is int and kind is int:
        return None if _INT64[0] <= value <= _INT64[1] else "beyond a 64-bit integer"
    if type(value) is str and kind is str:
        return None
    if type(value) in (int, str):
        return f"a {type(value).__name__} where this resource's ids are {kind.__name__}s"  # type: ignore[union-attr]
    return f"a {type(value).__name__}"


def check_unique_ids(
    records: list[dict[str, Any]], primary_key: str, cursor_field: str, where: str
) -> None:
    """Refuse a page listing one id twice: a vendor fault no re-read repairs.

    Offset pages over moving data can show a record on two pages, never twice on one. A
    page with a duplicate holds one record fewer than its place in `total` says, so
    letting the newest copy win would hide whichever record the duplicate displaced;
    the run fails instead, naming the id.
    """
    ids = [record[primary_key] for record in records]
    if len(set(ids)) == len(ids):
        return
    seen: dict[Any, list[Any]] = {}
    for record in records:
        seen.setdefault(record[primary_key], []).append(record.get(cursor_field))
    twice = {ident: stamps for ident, stamps in seen.items() if len(stamps) > 1}
    shown = "; ".join(
        f"{primary_key} {ident!r} ({cursor_field} {', '.join(map(str, stamps))})"
        for ident, stamps in list(twice.items())[:5]
    )
    raise DuplicateIdInPage(
        f"{where} lists {len(twice)} id(s) more than once: {shown}. The vendor served a "
        "duplicate within one page, which hides the record it displaced, so running again "
        "will not help while it does; the newest copy is not taken. Nothing from this run "
        "was loaded and the cursor did not move; ask the vendor."
    )


def _refused(resource: str, response: requests.Response) -> str:
    """The vendor's own words (an error body, not records) and the settings to look at.

    dlt says only `400 Client Error`; the usual cause is a page size above the vendor's
    maximum, which only the vendor's message reveals.
    """
    try:
        body: Any = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = response.text
    if isinstance(body, dict):
        fields = ("message", "error_description", "detail", "error", "errors")
        body = "; ".join(str(body[k]) for k in fields if body.get(k)) or "no message"
    said = " ".join(str(body).split())[:300] or "no message"
    return (
        f"{resource}: {describe(response.request)} was refused with HTTP "
        f"{response.status_code}: {said!r}. Nothing from this run was loaded and the cursor "
        "did not move. A page size above the vendor's maximum is the usual cause: lower "
        "SUPPORT_PAGE_SIZE; otherwise check the parameter names (SUPPORT_LIMIT_PARAM, "
        "SUPPORT_OFFSET_PARAM, SUPPORT_SINCE_PARAM, SUPPORT_BEFORE_PARAM)."
    )


def _query_int(request: requests.PreparedRequest, name: str) -> int:
    query = dict(parse_qsl(urlsplit(request.url or "").query))
    try:
        return int(query.get(name, 0))
    except ValueError:
        return 0


class ServerClock:
    """The desk's own clock, as the `Date` header of the first response of a run says.

    A run's window must end where the desk's clock stood, not ours: a record the desk
    stamps during the run must land past the window, never inside it (see the module
    docstring). The first response of a run is the token's, fetched before any page.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        # dlt deep-copies its rest_api configuration; one run shares this object.
        return self

    def __init__(self) -> None:
        self.date: dt.datetime | None = None

    def observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Response hook: keep the first `Date` header that parses."""
        if self.date is not None:
            return
        value = response.headers.get("Date")
        try:
            parsed = parsedate_to_datetime(value) if value else None
        except (TypeError, ValueError):
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            self.date = parsed.astimezone(dt.UTC)


class WindowedOffsetPaginator(OffsetPaginator):
    """Offset pages inside time slices, each page checked against the last; see the module."""

    def __init__(
        self,
        *,
        limit: int,
        offset_param: str,
        limit_param: str,
        total_path: str | None,
        since_param: str,
        before_param: str,
        primary_key: str,
        cursor_field: str,
        upper_bound: Callable[[], dt.datetime],
        check: PageCheck,
        window_pages: int = 50,
        max_rereads: int = 3,
    ) -> None:
        super().__init__(
            limit=limit,
            offset_param=offset_param,
            limit_param=limit_param,
            total_path=total_path,
            stop_after_empty_page=True,
        )
        self.total_field = total_path
        self.since_param = since_param
        self.before_param = before_param
        self.primary_key = primary_key
        self.cursor_field = cursor_field
        self.upper_bound = upper_bound
        self.check = check
        self.window_pages = window_pages
        self.max_rereads = max_rereads
        self.windows: list[tuple[dt.datetime | None, dt.datetime]] = []
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
            if total is not None and self._must_split(total):
                data.clear()  # these records belong to the slices read next
                self._split(min(64, -(-total // (self.window_pages * self.limit))))
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
        exhausted = self.check.last_page_size < self.limit
        if total is not None:
            exhausted = exhausted or offset + self.limit >= total
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
        params[str(self.limit_param)] = self.limit

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
        body = response.json()
        total = body.get(self.total_field) if isinstance(body, dict) else None
        if total is None and isinstance(body, dict):
            found = jsonpath.find_values(self.total_path, body)
            total = found[0] if found else None
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

    def _must_split(self, total: int) -> bool:
        return total > self.window_pages * self.limit and self._splittable()

    def _splittable(self) -> bool:
        lower, upper = self.windows[0]
        return lower is not None and (upper - lower) >= dt.timedelta(seconds=2)

    def _split(self, parts: int) -> None:
        """Replace the current slice by `parts` slices of equal time, whole seconds apart."""
        lower, upper = self.windows.pop(0)
        assert lower is not None
        step = (upper - lower) / parts
        edges = sorted({(lower + step * i).replace(microsecond=0) for i in range(parts)} | {lower})
        slices = list(zip(edges, [*edges[1:], upper], strict=True))
        self.windows[:0] = [s for s in slices if s[0] < s[1]]
        self.splits += 1
        self._reset_window()
        self._has_next_page = True

    def _close_window(self) -> None:
        self.check.missing_ids += self.check.window_missing
        self.windows.pop(0)
        self._reset_window()
        if not self.windows:
            self._has_next_page = False
            self.check.raise_for_rejects()


def _after(key: tuple[Any, ...], other: tuple[Any, ...]) -> bool:
    """`key > other` in the API's order; ids of mixed types compare as text."""
    try:
        return key > other
    except TypeError:
        return (key[0], str(key[1])) > (other[0], str(other[1]))


def _fmt(value: dt.datetime | None) -> str:
    return "start" if value is None else format_ts(value)
