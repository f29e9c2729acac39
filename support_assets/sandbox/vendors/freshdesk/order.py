"""What the store keeps no index for, and the tickets a list query selects, in its order.

The store orders records by (updated_at, id). Freshdesk also lists by creation, keeps
deleted tickets apart and nests conversations under tickets; the `Index` here holds what
that needs (creation order, deleted tickets' order keys, conversations by ticket, rendered
records by their stored bytes), so a page costs bisections and a slice, not a scan.
"""

from bisect import bisect_left, insort
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING

import orjson

from support_assets.sandbox.data import ID_BITS, ID_MASK, generate_comments, generate_tickets
from support_assets.sandbox.vendors.freshdesk.query import ListQuery
from support_assets.sandbox.vendors.freshdesk.shapes import STATUS, render_ticket

if TYPE_CHECKING:
    from support_assets.sandbox.state import Sandbox
    from support_assets.sandbox.store import Collection

DEFAULT_WINDOW = 30 * 86400  # without updated_since: tickets created in the last 30 days


@dataclass
class Index:
    """Indexes over one reset's collections, caught up with the store before each use."""

    tickets: "Collection"
    comments: "Collection"
    mutations: int = 0  # the sandbox's count of mutations this index has caught up with
    edits: int = 0  # stamps this desk gave (churn, bumps): they move keys, not `mutations`
    built: bool = False  # the conversation side, built on first need
    comment_keys: dict[int, int] = field(default_factory=dict)  # the store's, at the last sync
    ticket_of: dict[int, int] = field(default_factory=dict)  # comment id -> ticket id
    by_ticket: dict[int, list[tuple[str, int]]] = field(default_factory=dict)  # (created, id)
    created: dict[int, int] = field(default_factory=dict)  # ticket id -> created_at, epoch
    by_created: list[int] = field(default_factory=list)  # (created << ID_BITS) | id, sorted
    next_ticket: int = 1  # ticket ids below it are in `created` and `by_created`
    deleted: list[int] = field(default_factory=list)  # order keys of soft-deleted tickets
    deleted_at: tuple[int, int] = (-1, -1)  # (mutations, edits) `deleted` was built at
    rendered: dict[tuple[str, ...], dict[bytes, bytes]] = field(default_factory=dict)
    minute: int = -1  # the rate-limit window, a minute of the desk's clock: a reset's own
    used: int = 0

    def ticket_json(self, ident: int, include: tuple[str, ...]) -> bytes:
        """A ticket rendered, from a cache keyed on the stored bytes (a change replaces them)."""
        tickets = self.tickets
        row = tickets.rows[bisect_left(tickets.keys, tickets.key_of[ident])]
        cache = self.rendered.setdefault(include, {})
        out = cache.get(row)
        if out is None:
            if len(cache) > 2 * len(tickets) + 100:  # drop the bytes of replaced versions
                cache.clear()
            out = cache[row] = orjson.dumps(render_ticket(orjson.loads(row), include))
        return out

    def conversations(self, ticket: int) -> list[int]:
        """The ids of a ticket's conversations, oldest first, soft-deleted ones left out."""
        deleted = self.comments.deleted
        return [ident for _, ident in self.by_ticket.get(ticket, ()) if ident not in deleted]


def sync(index: Index, sandbox: "Sandbox", conversations: bool = False) -> None:
    """Catch up with the store's mutations; tickets whose conversations changed get a stamp.

    On Freshdesk a reply updates its ticket; the store's comments do not touch theirs.
    """
    if index.mutations == sandbox.mutations and (index.built or not conversations):
        return
    tickets = index.tickets
    touched = _reindex(index, sandbox) & tickets.key_of.keys()
    index.mutations = sandbox.mutations
    if touched:
        stamp = sandbox.stamp(tickets)
        for ident in sorted(touched):
            tickets.store(tickets.load(ident), stamp)
        index.edits += 1


def _reindex(index: Index, sandbox: "Sandbox") -> set[int]:
    """Bring the conversations index up to the store; the tickets whose ones changed.

    Built on first need: if the store changed before that, the generated data (the same
    for the same seed and anchor) is what it changed from.
    """
    comments = index.comments
    old_keys, old_ticket_of = index.comment_keys, index.ticket_of
    if not index.built:
        if sandbox.mutations:
            config = sandbox.config
            made = generate_tickets(config.seed, config.tickets, sandbox.anchor)
            made = generate_comments(config.seed, config.comments, made, sandbox.anchor)
            old_keys = {number + 1: key for number, key in enumerate(made.keys)}
            old_ticket_of = {
                number + 1: orjson.loads(row)["ticket_id"] for number, row in enumerate(made.rows)
            }
        groups: dict[int, list[tuple[str, int]]] = {}
        ticket_of: dict[int, int] = {}
        for record in map(orjson.loads, comments.rows):
            ticket_of[record["id"]] = record["ticket_id"]
            groups.setdefault(record["ticket_id"], []).append((record["created_at"], record["id"]))
        for group in groups.values():
            group.sort()
        index.by_ticket, index.ticket_of, index.built = groups, ticket_of, True
        if not sandbox.mutations:  # the data as generated: nothing to bump
            index.comment_keys = dict(comments.key_of)
            return set()
    else:
        old_ticket_of = dict(old_ticket_of)
        for ident in [ident for ident in old_keys if ident not in comments.key_of]:
            ticket = index.ticket_of.pop(ident)
            index.by_ticket[ticket] = [p for p in index.by_ticket[ticket] if p[1] != ident]
        for ident in comments.key_of.keys() - old_keys.keys():
            record = comments.load(ident)
            index.ticket_of[ident] = record["ticket_id"]
            group = index.by_ticket.setdefault(record["ticket_id"], [])
            insort(group, (record["created_at"], ident))
    new_keys = comments.key_of
    index.comment_keys = dict(new_keys)
    touched = {old_ticket_of[ident] for ident in old_keys if ident not in new_keys}
    return touched | {
        index.ticket_of[ident] for ident, key in new_keys.items() if old_keys.get(ident) != key
    }


def _creation(index: Index) -> Index:
    """The index with every ticket's creation time, caught up with created tickets."""
    tickets = index.tickets
    if index.next_ticket != tickets.next_id:
        if index.created:
            fresh = range(index.next_ticket, tickets.next_id)
            records = [tickets.load(ident) for ident in fresh if ident in tickets.key_of]
        else:
            records = [orjson.loads(row) for row in tickets.rows]
        for record in records:  # the store's own `%Y-%m-%dT%H:%M:%SZ`
            index.created[record["id"]] = int(
                datetime.fromisoformat(record["created_at"]).timestamp()
            )
        if len(records) > 100:
            index.by_created = sorted((c << ID_BITS) | i for i, c in index.created.items())
        else:
            for record in records:
                insort(index.by_created, (index.created[record["id"]] << ID_BITS) | record["id"])
        index.next_ticket = tickets.next_id
    return index


def _deleted_keys(index: Index, sandbox: "Sandbox") -> list[int]:
    at = (sandbox.mutations, index.edits)
    if index.deleted_at != at:
        key_of = index.tickets.key_of
        index.deleted = sorted(key_of[ident] for ident in index.tickets.deleted if ident in key_of)
        index.deleted_at = at
    return index.deleted


def select(index: Index, sandbox: "Sandbox", query: ListQuery, skip: int) -> Iterator[int]:
    """Ticket ids the query selects in its order, from the `skip`-th on, lazily."""
    if query.filter in ("spam", "watching"):  # no spam in the store; the key is no agent's
        return iter(())
    tickets = index.tickets
    keys, key_of, deleted = tickets.keys, tickets.key_of, tickets.deleted
    since, cutoff = query.since, None
    if since is None:  # created in the window: updated since its start too
        cutoff = since = int(sandbox.faults.clock()) - DEFAULT_WINDOW
    wanted = query.filter == "deleted"

    def keep(ident: int) -> bool:
        if (ident in deleted) != wanted:
            return False
        if query.filter == "new_and_my_open":
            record = tickets.load(ident)
            return record["status"] in ("new", "open") and record["assignee_id"] is None
        return True

    if cutoff is not None or query.order_by != "updated_at":
        _creation(index)
    if query.order_by in ("created_at", "due_by"):  # the store has no SLA: due_by as created
        created = index.by_created
        start = 0 if cutoff is None else bisect_left(created, cutoff << ID_BITS)
        spots = (
            range(len(created) - 1, start - 1, -1)
            if query.descending
            else range(start, len(created))
        )
        ids = (created[spot] & ID_MASK for spot in spots)
        floor = since << ID_BITS
        return islice((i for i in ids if key_of.get(i, -1) >= floor and keep(i)), skip, None)
    lo, hi = tickets.window(since, None)
    if query.order_by == "status":
        chosen = [keys[p] & ID_MASK for p in range(lo, hi)]
        chosen = [i for i in chosen if keep(i) and _created_after(index, i, cutoff)]
        status = {i: STATUS.get(tickets.load(i)["status"], 5) for i in chosen}
        created = index.created
        chosen.sort(key=lambda i: (status[i], created[i], i), reverse=query.descending)
        return iter(chosen[skip:])
    if cutoff is None and query.filter in (None, "deleted"):
        return _in_update_order(index, sandbox, query, lo, hi, skip)
    spots = range(hi - 1, lo - 1, -1) if query.descending else range(lo, hi)
    ids = (keys[spot] & ID_MASK for spot in spots)
    return islice((i for i in ids if keep(i) and _created_after(index, i, cutoff)), skip, None)


def _created_after(index: Index, ident: int, cutoff: int | None) -> bool:
    return cutoff is None or index.created[ident] >= cutoff


def _in_update_order(
    index: Index, sandbox: "Sandbox", query: ListQuery, lo: int, hi: int, skip: int
) -> Iterator[int]:
    """Live or deleted tickets in [lo, hi) of the store's order, from the `skip`-th on.

    Deleted tickets are few: their sorted order keys give both the deleted list and how
    many of them precede any position, so the `skip`-th live one is found by bisection.
    """
    keys = index.tickets.keys
    gone = _deleted_keys(index, sandbox)
    first = bisect_left(gone, keys[lo]) if lo < len(keys) else len(gone)
    if query.filter == "deleted":
        window = gone[first:]
        ordered = reversed(window) if query.descending else iter(window)
        return (key & ID_MASK for key in islice(ordered, skip, None))

    def live_before(spot: int) -> int:  # live tickets in [lo, spot)
        dead = (bisect_left(gone, keys[spot]) if spot < len(keys) else len(gone)) - first
        return spot - lo - dead

    total = live_before(hi)
    if skip >= total:
        return iter(())
    nth = total - 1 - skip if query.descending else skip
    low, high = lo, hi  # the smallest spot with `nth` live tickets before it
    while low < high:
        middle = (low + high) // 2
        if live_before(middle) < nth:
            low = middle + 1
        else:
            high = middle
    deleted = index.tickets.deleted
    while keys[low] & ID_MASK in deleted:  # the `nth` live ticket is the first live from here
        low += 1
    spots = range(low, lo - 1, -1) if query.descending else range(low, hi)
    return (i for i in (keys[spot] & ID_MASK for spot in spots) if i not in deleted)
