"""Each page parsed once and checked before anything of it is kept.

Refused: a page that is not a page, a record without a usable id, a duplicate within a
page; renamed: a vendor field named like a loader column. What is refused names the page
and the setting to look at, never a body (customers' personal data).
"""

import contextlib
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import requests
from dlt.common import jsonpath, logger

from support_assets.source.errors import (
    CredentialsRejected,
    DuplicateIdInPage,
    MalformedPage,
    RecordsWithoutId,
    RequestRefused,
    UnusableIds,
)
from support_assets.source.session import describe
from support_assets.source.telemetry import Telemetry
from support_assets.source.workarounds import SharedInRun

# The setting behind each resource's data selector, for errors that say what to change.
SELECTOR_SETTINGS = {
    "support_tickets": "SUPPORT_TICKETS_SELECTOR",
    "ticket_comments": "SUPPORT_COMMENTS_SELECTOR",
}
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


class PageCheck(SharedInRun):
    """Response hook: parse each page once, and refuse pages that are not pages.

    dlt would parse the body twice (records, then `total`), turn a non-JSON body into a
    bare `JSONDecodeError` and a missing data key into an empty page, ending the resource
    green with partial data. Here the parsed body is cached on the response and anything
    off fails the run with the URL, offset, status and content type — never the body,
    which may hold customers' personal data.
    """

    def __init__(
        self,
        resource: str,
        data_selector: str,
        primary_key: str,
        offset_param: str,
        telemetry: Telemetry,
        cursor_field: str = "updated_at",
        credentials: tuple[str, ...] = (),
    ) -> None:
        self.resource = resource
        # The settings that hold this desk's credentials, for a refusal to name them.
        self.credentials = credentials
        self.data_selector = data_selector
        # A plain key is read with a dict lookup; `$` is the body itself (a bare array);
        # anything else is a JSONPath (`_embedded.conversations`).
        self._path = (
            None
            if data_selector == "$" or data_selector.isidentifier()
            else jsonpath.compile_path(data_selector)
        )
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
        if response.status_code in (401, 403) and self.credentials:
            # A token refused twice is the session's to report; this is a static credential
            # (Basic, a bearer token, an API key) that the desk does not accept.
            raise CredentialsRejected(
                f"credentials rejected: {describe(response.request)} answered HTTP "
                f"{response.status_code}. Check {' and '.join(self.credentials)} (and that "
                "this user may read the resource). Nothing was loaded."
            )
        if response.status_code >= 300:
            return  # dlt's raise-for-status hook, next in line, reports it
        request = response.request
        content_type = response.headers.get("Content-Type", "no content type")
        where = (
            f"{self.resource}: {describe(request)} answered HTTP {response.status_code} "
            f"({content_type})"
        )
        body = self._parse(response.content, where)
        records = self._records(body)
        if not isinstance(records, list):
            keys = sorted(body)[:10] if isinstance(body, dict) else type(body).__name__
            setting = SELECTOR_SETTINGS.get(self.resource, "the selector setting")
            raise MalformedPage(
                f"{where} without a list at data selector {self.data_selector!r} (keys: "
                f"{keys}). Nothing from this run was loaded and the cursor did not move; "
                f"check {setting} (a key, a JSONPath, or $ for a bare array)."
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
            keep = usable
            body = self._with_records(body, keep)
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

    def _records(self, body: Any) -> Any:
        """The page's list of records, wherever the selector points."""
        if self.data_selector == "$":
            return body
        if self._path is None:
            return body.get(self.data_selector) if isinstance(body, dict) else None
        found = jsonpath.find_values(self._path, body) if isinstance(body, dict) else []
        return found[0] if len(found) == 1 else None

    def _with_records(self, body: Any, records: list[Any]) -> Any:
        """The body with its records replaced (those refused taken out)."""
        if self.data_selector == "$":
            return records
        if self._path is None:
            body[self.data_selector] = records
            return body
        self._path.update(body, records)
        return body

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
