"""The sandbox's whole state: configuration, data, tokens, faults and stats.

One event loop owns it, so nothing here needs a lock; everything is plain attributes that
the HTTP layer and the control API read and change between awaits.
"""

import dataclasses
import random
import secrets
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import orjson

from support_assets.sandbox.data import SPAN_SECONDS, generate_comments, generate_tickets
from support_assets.sandbox.faults import Faults, FaultSpec, drift_blob, normalize
from support_assets.sandbox.hostile import Hostile
from support_assets.sandbox.params import parse_rfc3339
from support_assets.sandbox.store import Collection
from support_assets.sandbox.vendors import check_vendor, desk

RESOURCES = ("tickets", "comments")
_YEAR_3000 = 32503680000  # the history before the anchor must stay inside what gmtime formats
ACTIONS = ("update", "create", "delete", "hard_delete")


@dataclass(frozen=True)
class Config:
    """What a reset regenerates from; the CLI's values are the defaults of every reset."""

    tickets: int = 1000
    comments: int = 5000
    seed: int = 0
    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"
    token_ttl: int = 3600
    anchor: str | None = None  # RFC 3339; None means the reset's own second
    faults: tuple[FaultSpec, ...] = ()
    # `generic` is the reference contract; any other name is an emulated desk (`vendors`).
    vendor: str = "generic"

    def validated(self) -> "Config":
        """Check every value, so a bad reset fails before the old data is dropped.

        Raises:
            ValueError: a value is out of range or of the wrong type.
        """
        for name in ("tickets", "comments", "seed", "token_ttl"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer, got {value!r}")
        if not 0 <= self.tickets < 2**31 or not 0 <= self.comments < 2**31:
            raise ValueError("tickets and comments must be between 0 and 2**31 - 1")
        if self.comments and not self.tickets:
            raise ValueError("comments need at least one ticket to belong to")
        if self.token_ttl < 1:
            raise ValueError("token_ttl must be at least 1 second")
        if not (isinstance(self.client_id, str) and isinstance(self.client_secret, str)):
            raise ValueError("client_id and client_secret must be strings")
        if self.anchor is not None and not (
            SPAN_SECONDS <= parse_rfc3339(self.anchor) < _YEAR_3000
        ):
            raise ValueError("anchor must lie between 1973 and 3000")
        normalize(self.faults)
        check_vendor(self.vendor)
        return self


class Stats:
    """Counters the tests and benchmarks assert on; the control API is never counted."""

    def __init__(self) -> None:
        self.requests: dict[str, dict[str, int]] = {}
        self.token_grants = 0
        self.faults_injected: dict[str, int] = {}
        self.records_served: dict[str, int] = dict.fromkeys(RESOURCES, 0)
        self.pages_served: dict[str, int] = dict.fromkeys(RESOURCES, 0)
        # The most requests the server was answering at once (concurrency tests).
        self.max_in_flight = 0

    def request(self, route: str, status: int) -> None:
        """Count one response by `METHOD path` and status."""
        by_status = self.requests.get(route)
        if by_status is None:
            by_status = self.requests[route] = {}
        key = str(status)
        by_status[key] = by_status.get(key, 0) + 1

    def fault(self, name: str, count: int = 1) -> None:
        """Count `count` injections of one fault."""
        self.faults_injected[name] = self.faults_injected.get(name, 0) + count

    def snapshot(self) -> dict[str, Any]:
        """Return the counters as one JSON-ready dict."""
        return {
            "requests": self.requests,
            "token_grants": self.token_grants,
            "faults_injected": self.faults_injected,
            "records_served": self.records_served,
            "pages_served": self.pages_served,
            "max_in_flight": self.max_in_flight,
        }


class Sandbox:
    """Data, tokens, faults and stats of one sandbox server."""

    def __init__(self, config: Config) -> None:
        self.base = config.validated()
        self.reset(faults=config.faults)  # the CLI's faults hold until the first reset

    def reset(self, **changes: Any) -> None:
        """Regenerate the data and drop tokens, stats and faults.

        Omitted values come from the configuration the server started with, except
        `faults`, which default to none.
        """
        changes.setdefault("faults", ())
        changes["faults"] = tuple(changes["faults"])
        config = dataclasses.replace(self.base, **changes).validated()
        anchor = parse_rfc3339(config.anchor) if config.anchor else int(time.time())
        tickets = generate_tickets(config.seed, config.tickets, anchor)
        comments = generate_comments(config.seed, config.comments, tickets, anchor)
        self.config = config
        self.anchor = anchor
        self.collections = {
            "tickets": Collection("tickets", tickets),
            "comments": Collection("comments", comments),
        }
        self.tokens: dict[str, tuple[float, float]] = {}  # token -> (issued, expires), monotonic
        self.stats = Stats()
        self.faults = Faults(config.seed, config.faults)
        self.hostile = Hostile()
        self.mutations = 0
        self._date: tuple[int, bytes] = (-1, b"")

    def set_faults(self, specs: tuple[FaultSpec, ...]) -> None:
        """Replace the active faults (validated first, so a bad spec changes nothing)."""
        normalize(specs)
        self.faults.set(specs)

    def grant_token(self) -> str:
        """Issue a token valid for the configured TTL."""
        token = secrets.token_urlsafe(24)
        issued = time.monotonic()
        self.tokens[token] = (issued, issued + self.config.token_ttl)
        self.stats.token_grants += 1
        return token

    def token_valid(self, token: str) -> bool:
        """Tell whether a bearer token is known and alive, counting early-expiry kills."""
        entry = self.tokens.get(token)
        if entry is None:
            return False
        now = time.monotonic()
        issued, expires = entry
        if now >= expires:
            del self.tokens[token]
            return False
        early = self.faults.active.get("token_early_expiry")
        if early and now >= issued + early["lifetime"]:
            del self.tokens[token]
            self.stats.fault("token_early_expiry")
            return False
        return True

    def revoke_tokens(self) -> None:
        """Forget every token, as a vendor's credential rotation does."""
        self.tokens.clear()

    def page_served(self, resource: str, records: int) -> None:
        """Count a 200 data page and fire the faults that act after whole pages."""
        self.stats.pages_served[resource] += 1
        self.stats.records_served[resource] += records
        faults = self.faults
        faults.pages += 1
        revoke = faults.active.get("token_revoke")
        if revoke and faults.pages % revoke["every"] == 0:
            self.revoke_tokens()
            self.stats.fault("token_revoke")

    def mutate(
        self, resource: str, action: str, count: int, ids: list[int] | None = None
    ) -> list[int]:
        """Update, create, soft-delete or purge `count` records, chosen deterministically.

        `ids` names the records instead, for tests that need one at a known position.

        Raises:
            ValueError: unknown resource, action or id, or fewer eligible records than `count`.
        """
        if resource not in RESOURCES or action not in ACTIONS:
            raise ValueError(f"resource must be one of {RESOURCES}, action one of {ACTIONS}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be an integer >= 0, got {count!r}")
        self.mutations += 1
        rng = random.Random(f"{self.config.seed}:{self.mutations}:{resource}:{action}")
        target = self.collections[resource]
        tickets = self.collections["tickets"]
        stamp = self.stamp(target)
        if action == "create":
            ticket_ids = tickets.live_ids() if resource == "comments" else []
            if resource == "comments" and count and not ticket_ids:
                raise ValueError("cannot create comments: no ticket to attach them to")
            created = [target.new_record(rng, stamp, ticket_ids) for _ in range(count)]
            for record in created:
                target.store(record, stamp)
            return [record["id"] for record in created]
        if ids is not None:
            unknown = [ident for ident in ids if ident not in target.key_of]
            if unknown or action == "create":
                raise ValueError(f"ids need an existing record and no create: {unknown or ids}")
            chosen = list(dict.fromkeys(ids))
        else:
            pool = list(target.key_of) if action == "hard_delete" else target.live_ids()
            if count > len(pool):
                raise ValueError(f"only {len(pool)} {resource} can be given to {action}")
            chosen = sorted(rng.sample(pool, count))
        for ident in chosen:
            if action == "update":
                target.revise(ident, stamp)
            elif action == "delete":
                target.soft_delete(ident, stamp)
            else:
                target.purge(ident)
        if action == "hard_delete" and resource == "tickets":
            self._purge_orphans(set(chosen))
        return chosen

    def _purge_orphans(self, ticket_ids: set[int]) -> None:
        """Purge the comments of purged tickets: every comment keeps an existing ticket."""
        comments = self.collections["comments"]
        orphans = [
            ident
            for ident, row in zip(comments.ids(0, len(comments)), comments.rows, strict=True)
            if orjson.loads(row)["ticket_id"] in ticket_ids
        ]
        for ident in orphans:
            comments.purge(ident)

    def stamp(self, target: Collection) -> int:
        """The stamp of a change made now: the desk's clock when `desk_clock` is set."""
        return self.faults.stamp() if "desk_clock" in self.faults.active else target.now()

    def http_date(self) -> bytes:
        """The `Date` header: the desk's clock, as every HTTP server sends it."""
        second = int(self.faults.clock())
        if second != self._date[0]:
            self._date = (second, formatdate(second, usegmt=True).encode())
        return self._date[1]

    def truth(self, resource: str) -> bytes:
        """Every current record as a JSON array in API order, with drift if it is in effect.

        Per-record faults (`missing_id`) are left out: truth is what a loader should end up
        with, not what one response carried. An emulated desk's truth is in its own shape.
        """
        emulator = desk(self.config.vendor)
        if emulator is not None:
            return emulator.truth(self, resource)
        rows = self.collections[resource].rows
        if self.faults.drifting:
            rows = [drift_blob(resource, row) for row in rows]
        return b"[" + b",".join(rows) + b"]"
