"""Conversations and threads in Help Scout's shape and order, over the sandbox's store.

`Conversations` indexes the published conversations by modification time (the ticket's own
`updated_at` or a newer one of its comments), renders each conversation and its threads
once, and is rebuilt when the store changes. `hal_page` wraps a page in Help Scout's HAL
envelope. The behaviours and their sources are listed in the package docstring.
"""

import hashlib
import re
from bisect import bisect_left, insort
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson

from support_assets.sandbox import text
from support_assets.sandbox.data import ID_BITS, ID_MASK, rfc3339
from support_assets.sandbox.params import parse_rfc3339
from support_assets.sandbox.store import Collection

if TYPE_CHECKING:
    from support_assets.sandbox.state import Sandbox

MAILBOX_ID = 1
PREVIEW_CHARS = 255
# The store's statuses as Help Scout's; soft-deleted tickets are in no list.
STATUS_OF = {
    "new": "active",
    "open": "active",
    "pending": "pending",
    "solved": "closed",
    "closed": "closed",
}
# A list's `status` filter -> the conversation statuses it selects (`open` and `spam` GUESS).
FILTERS: dict[str, tuple[str, ...]] = {
    "active": ("active",),
    "pending": ("pending",),
    "closed": ("closed",),
    "open": ("active", "pending"),
    "spam": (),
    "all": ("active", "pending", "closed"),
}
SORT_FIELDS = ("modifiedAt", "createdAt", "number")

# Stored rows are orjson output with fixed key order; string values escape their quotes,
# so these patterns only ever match the field itself.
_STATUS = re.compile(rb'"status":"([a-z]+)"')
_TICKET_ID = re.compile(rb'"ticket_id":(\d+)')
_CREATED = re.compile(rb'"created_at":"([^"]+)"')
_TAG_IDS = {tag: number for number, tag in enumerate(text.TAGS, 1)}
_FIELD_IDS = {"plan": 1, "sla_hours": 2, "vip": 3, "region": 4, "order_ref": 5}


def _stable_id(name: str) -> int:
    return 1000 + int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest()) % 10**6


def _as_text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def render_conversation(ticket: dict[str, Any], stamp: int) -> dict[str, Any]:
    """One stored ticket as a Help Scout conversation modified at `stamp`."""
    status = STATUS_OF.get(ticket["status"], "active")
    requester = {"id": ticket["requester_id"], "type": "customer"}
    conversation: dict[str, Any] = {
        "id": ticket["id"],
        "number": ticket["id"],
        "subject": ticket["subject"],
        "status": status,
        "state": "published",
        "preview": ticket["description"][:PREVIEW_CHARS],
        "mailboxId": MAILBOX_ID,
    }
    if ticket["assignee_id"] is not None:
        conversation["assignee"] = {"id": ticket["assignee_id"], "type": "user"}
    conversation["createdBy"] = requester
    conversation["primaryCustomer"] = requester
    conversation["tags"] = [
        {"id": _TAG_IDS.get(tag) or _stable_id(tag), "tag": tag} for tag in ticket["tags"]
    ]
    conversation["customFields"] = [
        {"id": _FIELD_IDS.get(name) or _stable_id(name), "name": name, "value": _as_text(value)}
        for name, value in ticket["custom_fields"].items()
    ]
    conversation["createdAt"] = ticket["created_at"]
    if status == "closed":
        conversation["closedAt"] = ticket["updated_at"]
    conversation["userUpdatedAt"] = rfc3339(stamp)
    return conversation


def render_thread(comment: dict[str, Any], requester: int) -> dict[str, Any]:
    """One stored comment as a thread of its ticket's conversation."""
    author = comment["author_id"]
    if not comment["public"]:
        kind, by, source = "note", "user", {"type": "web", "via": "user"}
    elif author == requester:
        kind, by, source = "customer", "customer", {"type": "email", "via": "customer"}
    else:
        kind, by, source = "message", "user", {"type": "web", "via": "user"}
    return {
        "id": comment["id"],
        "type": kind,
        "status": "nochange",
        "state": "published",
        "body": comment["body"],
        "source": source,
        "customer": {"id": requester, "type": "customer"},
        "createdBy": {"id": author, "type": by},
        "createdAt": comment["created_at"],
    }


class Conversations:
    """The published conversations in modifiedAt order, and their threads, rendered once.

    Built from the store and rebuilt after any mutation (the sandbox's mutation count and
    the collections' identity tell); the emulator's own live updates adjust it in place.
    `keys` are `(modified << ID_BITS) | id`, sorted, as the store's keys are.
    """

    def __init__(self, sandbox: "Sandbox") -> None:
        self.tickets: Collection = sandbox.collections["tickets"]
        self.comments: Collection = sandbox.collections["comments"]
        self.mutations = sandbox.mutations
        self.threads_of: dict[int, list[int]] = {}  # ticket id -> comment ids, deleted too
        self.comment_stamp: dict[int, int] = {}  # ticket id -> newest comment stamp
        for key, row in zip(self.comments.keys, self.comments.rows, strict=True):
            match = _TICKET_ID.search(row)
            if match is None:
                continue
            ticket = int(match[1])
            self.threads_of.setdefault(ticket, []).append(key & ID_MASK)
            stamp = key >> ID_BITS
            if stamp > self.comment_stamp.get(ticket, -1):
                self.comment_stamp[ticket] = stamp
        self.stamp: dict[int, int] = {}
        self.status: dict[int, str] = {}
        deleted = self.tickets.deleted
        for key, row in zip(self.tickets.keys, self.tickets.rows, strict=True):
            ident = key & ID_MASK
            if ident not in deleted:
                self._index(ident, key, row)
        self.keys = sorted((stamp << ID_BITS) | ident for ident, stamp in self.stamp.items())
        self._filtered: dict[str, list[int]] = {}
        self._filtered_by: dict[tuple[str, str], list[int]] = {}
        self._created: dict[int, int] = {}
        self._rendered: dict[int, bytes] = {}
        self._threads: dict[int, list[bytes]] = {}

    def current(self, sandbox: "Sandbox") -> bool:
        """Whether the store is still the one this was built from, unchanged since."""
        collections = sandbox.collections
        return (
            collections["tickets"] is self.tickets
            and collections["comments"] is self.comments
            and sandbox.mutations == self.mutations
        )

    def _index(self, ident: int, key: int, row: bytes) -> None:
        match = _STATUS.search(row)
        self.status[ident] = STATUS_OF.get(match[1].decode() if match else "", "active")
        self.stamp[ident] = max(key >> ID_BITS, self.comment_stamp.get(ident, -1))

    def touch(self, ident: int) -> None:
        """Re-read one ticket after the emulator revised it in the store."""
        del self.keys[bisect_left(self.keys, (self.stamp[ident] << ID_BITS) | ident)]
        key = self.tickets.key_of[ident]
        self._index(ident, key, self.tickets.rows[bisect_left(self.tickets.keys, key)])
        insort(self.keys, (self.stamp[ident] << ID_BITS) | ident)
        self._rendered.pop(ident, None)
        self._filtered.clear()
        self._filtered_by.clear()

    def newest(self) -> int:
        """The newest modification stamp, or 0 with no conversation."""
        return self.keys[-1] >> ID_BITS if self.keys else 0

    def filtered(self, status: str) -> list[int]:
        """The order keys of the conversations that a `status` filter selects."""
        if status == "all":
            return self.keys
        keys = self._filtered.get(status)
        if keys is None:
            wanted = FILTERS[status]
            keys = [key for key in self.keys if self.status[key & ID_MASK] in wanted]
            self._filtered[status] = keys
        return keys

    def order(self, status: str, since: int | None, sort: str, descending: bool) -> "Order":
        """A list request's conversations, in its order."""
        keys = self.filtered(status)
        if sort == "modifiedAt":
            lo = 0 if since is None else bisect_left(keys, since << ID_BITS)
            return Order(keys, lo, descending)
        memo = (status, sort)
        ordered = self._filtered_by.get(memo)
        if ordered is None:  # (created << ID_BITS) | id, or the bare ids for `number`
            ids = [key & ID_MASK for key in keys]
            ordered = (
                sorted((self.created(i) << ID_BITS) | i for i in ids)
                if sort == "createdAt"
                else sorted(ids)
            )
            self._filtered_by[memo] = ordered
        if since is not None:
            stamp = self.stamp
            ordered = [key for key in ordered if stamp[key & ID_MASK] >= since]
        return Order(ordered, 0, descending)

    def created(self, ident: int) -> int:
        """A conversation's creation second."""
        created = self._created.get(ident)
        if created is None:
            row = self.tickets.rows[bisect_left(self.tickets.keys, self.tickets.key_of[ident])]
            match = _CREATED.search(row)
            created = self._created[ident] = parse_rfc3339(match[1].decode()) if match else 0
        return created

    def conversation(self, ident: int) -> bytes:
        """One conversation's JSON, without threads."""
        blob = self._rendered.get(ident)
        if blob is None:
            ticket = self.tickets.load(ident)
            blob = orjson.dumps(render_conversation(ticket, self.stamp[ident]))
            self._rendered[ident] = blob
        return blob

    def threads(self, ident: int) -> list[bytes]:
        """One conversation's published threads as JSON, newest first."""
        threads = self._threads.get(ident)
        if threads is None:
            requester = self.tickets.load(ident)["requester_id"]
            comments = [self.comments.load(c) for c in self.threads_of.get(ident, ())]
            comments.sort(key=lambda c: (c["created_at"], c["id"]), reverse=True)
            threads = [
                orjson.dumps(render_thread(c, requester)) for c in comments if not c.get("deleted")
            ]
            self._threads[ident] = threads
        return threads

    def embedded(self, ident: int) -> bytes:
        """One conversation's JSON with `_embedded.threads`."""
        return b'%b,"_embedded":{"threads":[%b]}}' % (
            self.conversation(ident)[:-1],
            b",".join(self.threads(ident)),
        )


class Order:
    """A list request's conversations in its order, without materializing every id.

    `keys[lo:]` ascend (ids in their low bits); a descending request reads them backwards.
    """

    def __init__(self, keys: list[int], lo: int, descending: bool) -> None:
        self.keys, self.lo, self.descending = keys, lo, descending

    def __len__(self) -> int:
        return len(self.keys) - self.lo

    def ids(self, start: int, stop: int) -> list[int]:
        """The ids at positions start..stop of the request's order."""
        stop = min(stop, len(self))
        start = min(start, stop)
        if self.descending:
            end = len(self.keys)
            part = self.keys[end - stop : end - start][::-1]
        else:
            part = self.keys[self.lo + start : self.lo + stop]
        return [key & ID_MASK for key in part]


def hal_page(
    base: str,
    pairs: Iterable[tuple[str, str]],
    rel: str,
    items: list[bytes],
    number: int,
    total: int,
    size: int,
) -> bytes:
    """A HAL page: `_embedded.<rel>`, links that keep the query, and the page metadata."""
    pages = -(-total // size)
    kept = [(key, value) for key, value in pairs if key != "page"]

    def href(page: int) -> dict[str, str]:
        return {"href": f"{base}?{urlencode([*kept, ('page', str(page))])}"}

    links: dict[str, Any] = {"self": href(number), "first": href(1), "last": href(max(pages, 1))}
    if number < pages:
        links["next"] = href(number + 1)
    if number > 1:
        links["previous"] = href(number - 1)
    template = f"{base}?{urlencode(kept)}{{&page}}" if kept else f"{base}{{?page}}"
    links["page"] = {"href": template, "templated": True}
    meta = {"size": size, "totalElements": total, "totalPages": pages, "number": number}
    return b'{"_embedded":{"%b":[%b]},"_links":%b,"page":%b}' % (
        rel.encode(),
        b",".join(items),
        orjson.dumps(links),
        orjson.dumps(meta),
    )
