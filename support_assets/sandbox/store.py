"""Live collections: records as pre-serialized JSON, kept in (updated_at, id) order.

A page is a slice of the stored bytes in order and one join, with bisection on the keys for
the `updated_since` / `updated_before` window: that is what serves 100 records in tens of
microseconds. Mutations re-encode one record and move its key, which is how a record
updated during a client's pagination moves to the end and shifts the others forward.
"""

import random
import time
from bisect import bisect_left
from typing import Any

import orjson

from support_assets.sandbox import text
from support_assets.sandbox.data import ID_BITS, ID_MASK, Generated, rfc3339

_NEXT_STATUS = {"new": "open", "open": "pending", "pending": "solved", "solved": "closed"}
_NEXT_STATUS["closed"] = "open"  # a customer replies to a closed ticket
_PRIORITIES = ("low", "normal", "high", "urgent", None)


class Collection:
    """One resource (`tickets` or `comments`) over live data.

    `keys` holds the sorted order keys and `rows` the records' JSON at the same positions,
    so a page body is one slice and one join, without a lookup per record.
    """

    def __init__(self, name: str, generated: Generated) -> None:
        self.name = name
        ids = range(1, len(generated.keys) + 1)
        self.key_of = dict(zip(ids, generated.keys, strict=True))  # id -> order key
        self.keys = sorted(generated.keys)  # (updated_at << ID_BITS) | id
        self.rows = [generated.rows[(key & ID_MASK) - 1] for key in self.keys]
        self.deleted = generated.deleted  # soft-deleted ids
        self.next_id = len(ids) + 1

    def __len__(self) -> int:
        return len(self.keys)

    def window(self, since: int | None, before: int | None) -> tuple[int, int]:
        """Return the slice of the order that the filters select (since inclusive)."""
        keys = self.keys
        lo = 0 if since is None else bisect_left(keys, since << ID_BITS)
        hi = len(keys) if before is None else bisect_left(keys, before << ID_BITS)
        return lo, max(lo, hi)

    def ids(self, start: int, stop: int) -> list[int]:
        """Return the record ids at order positions start..stop."""
        return [key & ID_MASK for key in self.keys[start:stop]]

    def now(self) -> int:
        """Return the stamp for a change: this second, never before the newest record.

        A change can then never slip in before records a client has already passed.
        """
        newest = self.keys[-1] >> ID_BITS if self.keys else 0
        return max(int(time.time()), newest)

    def _position(self, ident: int) -> int:
        return bisect_left(self.keys, self.key_of[ident])

    def load(self, ident: int) -> dict[str, Any]:
        """Decode one stored record."""
        return orjson.loads(self.rows[self._position(ident)])

    def store(self, record: dict[str, Any], stamp: int) -> None:
        """Stamp a new or changed record with `stamp`, store it and move its order key."""
        ident = record["id"]
        if ident in self.key_of:
            self._remove(ident)
        record["updated_at"] = rfc3339(stamp)
        key = (stamp << ID_BITS) | ident
        position = bisect_left(self.keys, key)
        self.keys.insert(position, key)
        self.rows.insert(position, orjson.dumps(record))
        self.key_of[ident] = key

    def _remove(self, ident: int) -> None:
        position = self._position(ident)
        del self.keys[position]
        del self.rows[position]
        del self.key_of[ident]

    def revise(self, ident: int, stamp: int) -> None:
        """Change one record's content the way an agent's edit would, and re-stamp it."""
        record = self.load(ident)
        if self.name == "tickets":
            if record["status"] != "deleted":
                record["status"] = _NEXT_STATUS.get(record["status"], "open")
            current = record.get("priority")
            position = _PRIORITIES.index(current) if current in _PRIORITIES else -1
            record["priority"] = _PRIORITIES[(position + 1) % len(_PRIORITIES)]
        else:
            record["body"] = f"{record['body']} (edited ✏️)"
        self.store(record, stamp)

    def soft_delete(self, ident: int, stamp: int) -> None:
        """Tickets get status `deleted`; comments, which have no status, get `deleted: true`."""
        record = self.load(ident)
        if self.name == "tickets":
            record["status"] = "deleted"
        else:
            record["deleted"] = True
        self.deleted.add(ident)
        self.store(record, stamp)

    def restore(self, ident: int, stamp: int) -> None:
        """Take a record out of the trash, as a desk's restore does: open again, a new stamp.

        A record that is not soft-deleted is left as it is.
        """
        if ident not in self.deleted:
            return
        record = self.load(ident)
        if self.name == "tickets":
            record["status"] = "open"
        else:
            record.pop("deleted", None)
        self.deleted.discard(ident)
        self.store(record, stamp)

    def purge(self, ident: int) -> None:
        """Remove a record entirely, as a vendor's permanent deletion does."""
        self._remove(ident)
        self.deleted.discard(ident)

    def live_ids(self) -> list[int]:
        """Ids of records not soft-deleted, in a deterministic order."""
        return [ident for ident in self.key_of if ident not in self.deleted]

    def new_record(self, rng: random.Random, stamp: int, ticket_ids: list[int]) -> dict:
        """Build a new record in the generated records' key order; comments pick a ticket."""
        ident = self.next_id
        self.next_id += 1
        when = rfc3339(stamp)
        if self.name == "tickets":
            tags = [] if rng.random() < 0.35 else rng.sample(text.TAGS, 1 + rng.randrange(3))
            return {
                "id": ident,
                "subject": rng.choice(text.SUBJECTS),
                "description": "\n\n".join(rng.sample(text.PARAGRAPHS, 2)),
                "status": "new",
                "priority": rng.choice(text.PRIORITIES),
                "requester_id": 1000 + rng.randrange(5000),
                "assignee_id": None if rng.random() < 0.5 else 100 + rng.randrange(40),
                "tags": tags,
                "custom_fields": {"plan": rng.choice(text.PLANS), "vip": rng.random() < 0.1},
                "created_at": when,
                "updated_at": when,
            }
        return {
            "id": ident,
            "ticket_id": rng.choice(ticket_ids),
            "author_id": 1000 + rng.randrange(5000),
            "body": rng.choice(text.PARAGRAPHS),
            "public": rng.random() < 0.8,
            "created_at": when,
            "updated_at": when,
        }
