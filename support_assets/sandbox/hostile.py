"""Hostile data: one record or one page served the way a careless vendor serves it.

Faults model an API misbehaving at random; a hostile case is a single, exact deviation
from the contract that a test sets up to see what the loader makes of it: a record whose
`id` is 1.5, a page with a byte-order mark, a `total` sent as a string. Set over the
control API (`POST /_sandbox/hostile`, `{"cases": [...]}`), cleared by a reset or
`DELETE /_sandbox/hostile`. Each case is one of:

- a record case, `{"resource", "record": id, "patch": {...}, "replace": [[a, b], ...]}`:
  wherever that record is served, its keys are overwritten with `patch`, then each byte
  string `a` in its JSON is replaced by `b` (Base64 on the wire), which is how bytes no
  JSON encoder writes (`NaN`, invalid UTF-8, a lone surrogate) reach the client;
- a page case, `{"resource", "offset", "total": "string" | "absent", "prefix": b64,
  "replace": [[a, b], ...]}`: the page at that offset (any window) gets its `total` as a
  string or none, bytes before the body, or substitutions in it.

The stored data stays as it was: the window filters and `truth()` see the record as
generated, so a test compares what the loader kept with what the vendor really holds.
"""

import base64
import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

# The page's own total follows its record list; a record may hold a "total" of its own.
_TOTAL = re.compile(rb'\],"total":(\d+)')


@dataclasses.dataclass(frozen=True)
class Case:
    """One hostile deviation, for one record or one page of a resource."""

    resource: str
    record: int | None = None
    offset: int | None = None
    patch: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    replace: tuple[tuple[bytes, bytes], ...] = ()
    prefix: bytes = b""
    total: str | None = None  # "string" or "absent"


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a Base64 string, got {value!r}")
    return base64.b64decode(value, validate=True)


def parse_case(spec: Mapping[str, Any]) -> Case:
    """Validate one case as the control API receives it (bytes in Base64)."""
    known = {"resource", "record", "offset", "patch", "replace", "prefix", "total"}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"unknown hostile case key(s): {', '.join(sorted(unknown))}")
    if spec.get("resource") not in ("tickets", "comments"):
        raise ValueError("a hostile case needs resource 'tickets' or 'comments'")
    record, offset = spec.get("record"), spec.get("offset")
    if (record is None) == (offset is None):
        raise ValueError("a hostile case names either a record (id) or a page (offset)")
    patch = spec.get("patch") or {}
    if not isinstance(patch, dict):
        raise ValueError("patch must be an object")
    pairs = tuple((_b64(a, "replace"), _b64(b, "replace")) for a, b in spec.get("replace") or ())
    total = spec.get("total")
    if total not in (None, "string", "absent"):
        raise ValueError("total must be 'string' or 'absent'")
    if record is not None and (total or spec.get("prefix")):
        raise ValueError("total and prefix apply to a page case (offset), not a record")
    return Case(
        resource=spec["resource"],
        record=None if record is None else int(record),
        offset=None if offset is None else int(offset),
        patch=patch,
        replace=pairs,
        prefix=_b64(spec["prefix"], "prefix") if spec.get("prefix") else b"",
        total=total,
    )


class Hostile:
    """The hostile cases in effect; empty (and falsy) after every reset."""

    def __init__(self, cases: Iterable[Case] = ()) -> None:
        self.cases = list(cases)

    def __bool__(self) -> bool:
        return bool(self.cases)

    def records(self, resource: str, ids: list[int], blobs: list[bytes]) -> list[bytes]:
        """Rewrite the records of one page that a record case names."""
        cases = {c.record: c for c in self.cases if c.resource == resource and c.record}
        if not cases:
            return blobs
        return [
            _record(cases[ident], blob) if ident in cases else blob
            for ident, blob in zip(ids, blobs, strict=True)
        ]

    def page(self, resource: str, offset: int, body: bytes) -> bytes:
        """Rewrite a whole page body that a page case names."""
        for case in self.cases:
            if case.resource != resource or case.offset != offset:
                continue
            if case.total == "string":
                body = _TOTAL.sub(rb'],"total":"\1"', body, count=1)
            elif case.total == "absent":
                body = _TOTAL.sub(b"]", body, count=1)
            for old, new in case.replace:
                body = body.replace(old, new)
            body = case.prefix + body
        return body


def _record(case: Case, blob: bytes) -> bytes:
    if case.patch:
        blob = orjson.dumps({**orjson.loads(blob), **case.patch})
    for old, new in case.replace:
        blob = blob.replace(old, new)
    return blob


def encode_case(case: Mapping[str, Any]) -> dict[str, Any]:
    """A case with bytes, as a client writes it, in the control API's Base64 form."""
    wire = dict(case)
    if "replace" in wire:
        wire["replace"] = [
            [base64.b64encode(a).decode(), base64.b64encode(b).decode()] for a, b in wire["replace"]
        ]
    if "prefix" in wire:
        wire["prefix"] = base64.b64encode(wire["prefix"]).decode()
    return wire
