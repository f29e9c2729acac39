"""Deterministic, realistic seed data, generated fast enough for 600,000 records in seconds.

Records are produced straight as JSON bytes from byte templates and pools of pre-encoded
fragments, because building 600,000 dicts and serializing them one by one costs several
seconds in pure Python. The templates write keys in the same order and format as
`orjson.dumps` of the record dict, so a mutated record (decoded, changed and re-encoded)
is byte-for-byte what a generated one would be.
"""

import math
import random
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from itertools import repeat

import orjson

from support_assets.sandbox import text

SPAN_BITS = 26
SPAN_SECONDS = 1 << SPAN_BITS  # 777 days: about two years of history up to the anchor
ID_BITS = 32  # order keys are (updated_at << ID_BITS) | id: one int sorts faster than a tuple
ID_MASK = (1 << ID_BITS) - 1
LONG_BODY_BYTES = 50 * 1024

_TICKET = (
    b'{"id":%d,"subject":%b,"description":%b,"status":"%b","priority":%b,"requester_id":%d,'
    b'"assignee_id":%b,"tags":%b,"custom_fields":%b,"created_at":"%b","updated_at":"%b"}'
)
_COMMENT = (
    b'{"id":%d,"ticket_id":%d,"author_id":%d,"body":%b,"public":%b,'
    b'"created_at":"%b","updated_at":"%b"}'
)


@dataclass
class Generated:
    """One collection as generated: JSON bytes and order keys, both by id - 1."""

    rows: list[bytes]
    keys: list[int]
    created: list[int] = field(default_factory=list)  # by id - 1; comments need it
    deleted: set[int] = field(default_factory=set)


def rfc3339(epoch: int) -> str:
    """Format epoch seconds as the contract's UTC timestamp (second resolution, `Z`)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@cache
def _times_of_day() -> tuple[bytes, ...]:
    return tuple(
        b"%02d:%02d:%02dZ" % (h, m, s) for h in range(24) for m in range(60) for s in range(60)
    )


class Stamps:
    """RFC 3339 bytes for epochs in a known range, from a table per day and per second.

    strftime for every timestamp costs over a second at 600k records; two list lookups and
    one concatenation do not.
    """

    def __init__(self, start: int, end: int) -> None:
        self.first = start // 86400
        self.days = [
            time.strftime("%Y-%m-%dT", time.gmtime(d * 86400)).encode()
            for d in range(self.first, end // 86400 + 1)
        ]
        self.times = _times_of_day()

    def __call__(self, epoch: int) -> bytes:
        """Format one epoch inside the table's range."""
        day, sec = divmod(epoch, 86400)
        return self.days[day - self.first] + self.times[sec]


def _sorted_epochs(rng: random.Random, n: int, anchor: int) -> list[int]:
    """Draw `n` uniform epochs over the span before `anchor`, ascending.

    Mapping C functions over the draws keeps the Python interpreter out of the loop.
    """
    raw = sorted(map(rng.getrandbits, repeat(SPAN_BITS, n)))
    return list(map((anchor - SPAN_SECONDS + 1).__add__, raw))


def _updated(rng: random.Random, created: list[int], anchor: int, edited: float) -> list[int]:
    """Return updated epochs for records whose created epochs ascend.

    A share `edited` of records changed after creation; on top of that a quarter of the
    records are stamped by bulk updates (macros, imports, redactions) that give 3 to 30
    records the same second: that is what puts ties at page and cursor boundaries.
    """
    rand = rng.random
    n = len(created)
    start = anchor - SPAN_SECONDS
    updated = created.copy()
    mean_gap = 20 * 86400
    for i, c in enumerate(created):
        if rand() < edited:
            edit = c + int(-math.log(1.0 - rand()) * mean_gap)
            # An edit that would land after the anchor lands somewhere before it instead:
            # clamping piled thousands of records onto the anchor's second.
            updated[i] = edit if edit <= anchor else c + int(rand() * (anchor - c + 1))
    stamped = 0
    while stamped < n // 4:
        when = start + int(rand() * SPAN_SECONDS)
        eligible = bisect_right(created, when)
        if eligible < 3:
            continue
        size = min(3 + int(rand() * 28), eligible)
        for _ in range(size):
            updated[int(rand() * eligible)] = when
        stamped += size
    return updated


def _pool(rng: random.Random, size: int, make: Callable[[], object]) -> list[bytes]:
    return [orjson.dumps(make()) for _ in range(size)]


def _ticket_pools(rng: random.Random) -> dict[str, list[bytes]]:
    prefixes = text.SUBJECT_PREFIXES
    paragraphs = text.PARAGRAPHS

    def description() -> str:
        return "\n\n".join(rng.sample(paragraphs, 1 + int(rng.random() * 3)))

    def tags() -> list[str]:
        return [] if rng.random() < 0.35 else rng.sample(text.TAGS, 1 + int(rng.random() * 3))

    def custom_fields() -> dict[str, object]:
        if rng.random() < 0.15:
            return {}
        fields: dict[str, object] = {
            "plan": rng.choice(text.PLANS),
            "sla_hours": rng.choice(text.SLA_HOURS),
            "vip": rng.random() < 0.1,
        }
        if rng.random() < 0.5:
            fields["region"] = rng.choice(text.REGIONS)
        if rng.random() < 0.2:
            fields["order_ref"] = None
        return fields

    return {
        "subject": _pool(rng, 240, lambda: rng.choice(prefixes) + rng.choice(text.SUBJECTS)),
        "description": _pool(rng, 256, description),
        "tags": _pool(rng, 64, tags),
        "custom_fields": _pool(rng, 128, custom_fields),
        "priority": [orjson.dumps(p) for p in text.PRIORITIES],
    }


def generate_tickets(seed: int, n: int, anchor: int) -> Generated:
    """Generate `n` tickets; about 3% are soft-deleted, priority and assignee are often null."""
    rng = random.Random(f"{seed}:tickets")
    pools = _ticket_pools(rng)
    created = _sorted_epochs(rng, n, anchor)
    updated = _updated(rng, created, anchor, edited=0.6)
    fmt = Stamps(anchor - SPAN_SECONDS, anchor)
    subjects, descriptions = pools["subject"], pools["description"]
    tag_pool, field_pool, priorities = pools["tags"], pools["custom_fields"], pools["priority"]
    statuses = [s.encode() for s in text.STATUSES]
    users = max(50, n // 3)
    bits = rng.getrandbits
    out = Generated(rows=[b""] * n, keys=[0] * n, created=created)
    rows, keys, deleted = out.rows, out.keys, out.deleted
    for i in range(n):
        ident = i + 1
        r = bits(64)
        c, u = created[i], updated[i]
        if r % 100 < 3:
            status = b"deleted"
            deleted.add(ident)
        else:
            status = statuses[(r >> 8) % 5]
        assignee = b"null" if (r >> 12) % 10 < 3 else b"%d" % (100 + (r >> 16) % 40)
        stamp_c = fmt(c)
        rows[i] = _TICKET % (
            ident,
            subjects[(r >> 22) % 240],
            descriptions[(r >> 30) % 256],
            status,
            priorities[(r >> 38) % 7],
            1000 + (r >> 41) % users,
            assignee,
            tag_pool[(r >> 50) % 64],
            field_pool[(r >> 56) % 128],
            stamp_c,
            stamp_c if u == c else fmt(u),
        )
        keys[i] = (u << ID_BITS) | ident
    return out


def _long_body(rng: random.Random) -> str:
    parts: list[str] = []
    size = 0
    while size < LONG_BODY_BYTES:
        part = rng.choice(text.PARAGRAPHS)
        parts.append(part)
        size += len(part.encode()) + 1
    return "\n".join(parts)


def generate_comments(seed: int, m: int, tickets: Generated, anchor: int) -> Generated:
    """Generate `m` comments on existing tickets, a few with bodies of 50 KB or more.

    Creation times are drawn first and sorted, so ids ascend with created_at as on a real
    desk; each comment then picks a ticket created before it, biased towards recent ones.
    """
    rng = random.Random(f"{seed}:comments")
    bodies = _pool(rng, 512, lambda: "\n\n".join(rng.sample(text.PARAGRAPHS, 1 + rng.randrange(2))))
    long_bodies = _pool(rng, 8, lambda: _long_body(rng))
    long_per_mille = max(1, min(20, 5000 // max(m, 1)))  # 0.1% at scale, a few in small sets
    ticket_created = tickets.created  # ticket ids are 1..n in creation order
    out = Generated(
        rows=[b""] * (m if ticket_created else 0), keys=[0] * (m if ticket_created else 0)
    )
    if not ticket_created:
        return out
    rand, bits = rng.random, rng.getrandbits
    created = _sorted_epochs(rng, m, anchor)
    # No comment predates the first ticket: the few drawn earlier land on its second.
    early = bisect_left(created, ticket_created[0])
    created[:early] = [ticket_created[0]] * early
    updated = _updated(rng, created, anchor, edited=0.15)
    fmt = Stamps(anchor - SPAN_SECONDS, anchor)
    rows, keys = out.rows, out.keys
    users = max(50, len(ticket_created) // 3)
    for i, c in enumerate(created):
        ident = i + 1
        u = updated[i]
        r = bits(64)
        older = bisect_right(ticket_created, c)
        ticket = older - int(rand() * rand() * older)
        body = long_bodies[(r >> 10) % 8] if r % 1000 < long_per_mille else bodies[(r >> 10) % 512]
        stamp_c = fmt(c)
        rows[i] = _COMMENT % (
            ident,
            ticket,
            1000 + (r >> 20) % users,
            body,
            b"true" if (r >> 50) & 7 else b"false",
            stamp_c,
            stamp_c if u == c else fmt(u),
        )
        keys[i] = (u << ID_BITS) | ident
    return out
