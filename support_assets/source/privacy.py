"""Customers' personal data, and each record's version, settled before anything is written.

Comment bodies and requester fields hold customers' personal data. A field listed to be
excluded is removed from every record, and a field listed to be hashed is replaced by an
HMAC-SHA256 of its value under a secret salt, in one pipe step right after the paginator
(and the nested-record step): before the Arrow conversion, the row path, the child
resources, dlt's extract files, the errors that name a record, and the warehouse. (The
page checks before it read and quote only ids, keys and cursor values.)
A keyed hash, not a plain one: a requester id or an e-mail address has so few possible
values that an unsalted hash is reversed by trying them all. The same salt gives the same
hash in every run and both tables, so joins on a hashed id still work.

With change history on (`SUPPORT_HISTORY=scd2`) the same step stamps each record with a
hash of its content (after the customer data is settled: a version hash of a raw body
would be a plain hash of it), which dlt's `scd2` merge compares to tell a new version from
a record read again unchanged. It is computed here, on the dicts, so the Arrow pages and
the row path give one record the same version.
"""

import dataclasses
import functools
import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

import orjson
from dlt.extract.items_transform import ItemTransform

from support_assets.source.contract import COMMENTS_RESOURCE, TICKETS_RESOURCE, ApiNames
from support_assets.source.history import VERSION_COLUMN

# What `tickets.` and `comments.` in the settings name: the dlt resources.
TABLES = {"tickets": TICKETS_RESOURCE, "comments": COMMENTS_RESOURCE}


@dataclasses.dataclass(frozen=True)
class FieldRule:
    """One field of SUPPORT_EXCLUDE_COLUMNS or SUPPORT_HASH_COLUMNS.

    `comments.body` names the comments' `body`; a plain `body` names it in both tables. A
    dotted rest walks into objects (`tickets.primaryCustomer.email`); lists are not walked.
    """

    table: str | None
    path: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> "FieldRule":
        """`tickets.requester_email`, `comments.body` or a plain name for both tables."""
        head, _, rest = text.partition(".")
        if head in TABLES and rest:
            return cls(TABLES[head], tuple(rest.split(".")))
        return cls(None, tuple(text.split(".")))

    def applies_to(self, resource: str) -> bool:
        """Whether the rule names a field of this resource's records."""
        return self.table is None or self.table == resource

    def __str__(self) -> str:
        short = {v: k for k, v in TABLES.items()}
        prefix = f"{short[self.table]}." if self.table else ""
        return prefix + ".".join(self.path)


def parse_rules(names: Iterable[str]) -> tuple[FieldRule, ...]:
    """The rules of one comma-separated setting, already split into names."""
    return tuple(FieldRule.parse(name) for name in names)


def check_rules(
    api: ApiNames, exclude: tuple[FieldRule, ...], hashed: tuple[FieldRule, ...]
) -> str | None:
    """What is wrong with the rules for this desk, or None; the text names the setting.

    The primary key and the cursor field are what the load merges and reads on: a hashed
    id could never be merged with the desk's own, an excluded cursor stops the incremental
    load. A comment's ticket key is what joins it to its ticket, and the requester field is
    what an erasure request is matched on (hash it instead of excluding it).
    """
    for setting, rules in (("SUPPORT_EXCLUDE_COLUMNS", exclude), ("SUPPORT_HASH_COLUMNS", hashed)):
        for rule in rules:
            for resource in (TICKETS_RESOURCE, COMMENTS_RESOURCE):
                if not rule.applies_to(resource):
                    continue
                field = rule.path[0]
                kept = {api.primary_key: "the primary key (SUPPORT_PRIMARY_KEY)"}
                kept[api.cursor_of(resource)] = "the cursor field (SUPPORT_CURSOR_FIELD)"
                if resource == COMMENTS_RESOURCE:
                    kept[api.ticket_key] = "a comment's ticket (SUPPORT_TICKET_KEY)"
                if field in kept and len(rule.path) == 1:
                    return (
                        f"{setting} names {rule}, which is {kept[field]} of {resource}: the "
                        "load merges and reads on it. Remove it from the list."
                    )
                requester = tuple(api.requester_field.split("."))
                if (
                    setting == "SUPPORT_HASH_COLUMNS"
                    and resource == TICKETS_RESOURCE
                    and len(rule.path) < len(requester)
                    and requester[: len(rule.path)] == rule.path
                ):
                    return (
                        f"SUPPORT_HASH_COLUMNS names {rule}, which holds the requester "
                        f"(SUPPORT_REQUESTER_FIELD={api.requester_field}): hashed whole, no "
                        f"erasure request could find it. Hash {api.requester_field} itself."
                    )
                if (
                    setting == "SUPPORT_EXCLUDE_COLUMNS"
                    and resource == TICKETS_RESOURCE
                    and requester[: len(rule.path)] == rule.path
                ):
                    return (
                        f"SUPPORT_EXCLUDE_COLUMNS names {rule}, which holds the requester "
                        f"(SUPPORT_REQUESTER_FIELD={api.requester_field}) that erasure requests "
                        "are matched on: list it in SUPPORT_HASH_COLUMNS instead."
                    )
    both = {str(rule) for rule in exclude} & {str(rule) for rule in hashed}
    if both:
        return (
            f"{', '.join(sorted(both))} is listed in both SUPPORT_EXCLUDE_COLUMNS and "
            "SUPPORT_HASH_COLUMNS: keep it in one."
        )
    return None


def keyed_hash(salt: str, value: Any) -> str | None:
    """HMAC-SHA256 (hex) of a value under the salt; None stays None (nothing to hide).

    A number hashes as its decimal text, so the erasure job can hash the id it is given
    (text) to the value the load stored for the same id (a number).
    """
    if value is None:
        return None
    if isinstance(value, str):
        raw = value.encode()
    elif isinstance(value, bool):
        raw = b"true" if value else b"false"
    elif isinstance(value, int | float):
        raw = str(value).encode()
    else:
        raw = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    mac = _keyed(salt).copy()  # the key's pads computed once per salt, not per value
    mac.update(raw)
    return mac.hexdigest()


@functools.lru_cache(maxsize=4)
def _keyed(salt: str) -> "hmac.HMAC":
    return hmac.new(salt.encode(), digestmod=hashlib.sha256)


@dataclasses.dataclass(frozen=True)
class CustomerData:
    """What to exclude and hash, with the salt, and whether to stamp versions (scd2)."""

    exclude: tuple[FieldRule, ...] = ()
    hashed: tuple[FieldRule, ...] = ()
    salt: str = dataclasses.field(default="", repr=False)
    versions: bool = False

    def __bool__(self) -> bool:
        return bool(self.exclude or self.hashed or self.versions)

    def hashed_columns(self, resource: str) -> list[str]:
        """Top-level fields of the resource that hold hashes (their column becomes text)."""
        return [r.path[0] for r in self.hashed if r.applies_to(resource) and len(r.path) == 1]

    def excluded_columns(self, resource: str) -> list[str]:
        """Top-level fields of the resource that are never loaded."""
        return [r.path[0] for r in self.exclude if r.applies_to(resource) and len(r.path) == 1]

    def hashes_requester(self, api: ApiNames) -> bool:
        """Whether the tickets' requester field is stored as a hash (erasure hashes the id)."""
        requester = tuple(api.requester_field.split("."))
        return any(r.applies_to(TICKETS_RESOURCE) and r.path == requester for r in self.hashed)

    def step(self, resource: str) -> "CustomerDataStep":
        """The pipe step for one resource."""
        return CustomerDataStep(
            [r.path for r in self.exclude if r.applies_to(resource)],
            [r.path for r in self.hashed if r.applies_to(resource)],
            self.salt,
            self.versions,
        )


class CustomerDataStep(ItemTransform[Any, Any]):
    """A pipe step: each record of a page settled in place (the page keeps its paginator)."""

    def __init__(
        self,
        exclude: list[tuple[str, ...]],
        hashed: list[tuple[str, ...]],
        salt: str,
        versions: bool,
    ) -> None:
        super().__init__(lambda item: item)
        self.exclude = exclude
        self.hashed = hashed
        self._salt = salt
        self.versions = versions

    def __call__(self, item: Any, meta: Any = None) -> Any:
        """Exclude, hash and stamp every record of a page (or a single record)."""
        records = item if isinstance(item, list) else [item]
        for record in records:
            if isinstance(record, dict):
                self._settle(record)
        return item

    def _settle(self, record: dict[str, Any]) -> None:
        for path in self.exclude:
            parent = _parent(record, path)
            if parent is not None:
                parent.pop(path[-1], None)
        for path in self.hashed:
            parent = _parent(record, path)
            if parent is not None and path[-1] in parent:
                parent[path[-1]] = keyed_hash(self._salt, parent[path[-1]])
        if self.versions:
            record.pop(VERSION_COLUMN, None)
            record[VERSION_COLUMN] = version_of(record)


def version_of(record: dict[str, Any]) -> str:
    """A hash of the record's content: equal for a record read again unchanged."""
    try:
        raw = orjson.dumps(record, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        # Too deep to serialize: the Arrow step fails the load naming the record.
        raw = repr(sorted(record.items(), key=lambda kv: str(kv[0]))).encode()
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def _parent(record: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    node: Any = record
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None
