"""Fault profiles: parsing, defaults, and the deterministic decisions behind them.

Every decision is a hash of the seed, the fault, the request's method, path and canonical
query, and the attempt number for that exact URL. Nothing depends on wall time or on
global counters, so a client that sends the same requests gets the same statuses on every
run with the same seed, whatever else hits the server meanwhile.
"""

import hashlib
import time
from collections.abc import Iterable, Mapping
from email.utils import formatdate
from typing import Any

import orjson

from support_assets.sandbox.asgi import Headers
from support_assets.sandbox.rate import RateWindow

FaultSpec = str | Mapping[str, Any]

# name -> {param: (default, type, minimum, maximum)}
_PARAMS: dict[str, dict[str, tuple[float, type, float, float]]] = {
    # burst: failures in a row per selected URL; 0 picks 1 or 2 (at most MAX_BURST in all).
    "rate_limit": {
        "ratio": (0.3, float, 0.0, 1.0),
        "retry_after": (1, int, 0, 3600),
        "burst": (0, int, 0, 100),
    },
    "server_errors": {"ratio": (0.3, float, 0.0, 1.0), "burst": (0, int, 0, 100)},
    "token_revoke": {"every": (5, int, 1, 10**9)},
    "token_early_expiry": {"lifetime": (1.0, float, 0.0, 10**9)},
    "live_updates": {"per_page": (1, int, 1, 100)},
    "schema_drift": {"after_pages": (0, int, 0, 10**9)},
    "malformed_page": {"offset": (100, int, 0, 10**9)},
    "missing_data_key": {"offset": (100, int, 0, 10**9)},
    "missing_id": {"ratio": (0.01, float, 0.0, 1.0)},
    # unauthorized=1: 401 answers wait too, so a client can act while one is in flight.
    "slow": {"delay": (0.05, float, 0.0, 60.0), "unauthorized": (0, int, 0, 1)},
    "no_access_token": {},
    # after=N: the outage begins after N served data requests (a load killed part-way).
    "outage": {"requests": (4, int, 0, 10**9), "after": (0, int, 0, 10**9)},
    "desk_clock": {
        "offset": (0, int, -(10**9), 10**9),
        "late": (0, int, 0, 10**9),
        "frozen": (0, int, 0, 1),
    },
    # Every request but the control API's waits `ms`, give or take up to `jitter_ms`.
    "latency": {"ms": (100.0, float, 0.0, 60000.0), "jitter_ms": (0.0, float, 0.0, 60000.0)},
    # A real window of requests (see rate.py); `window` (seconds) shortens it for tests.
    "rate_budget": {
        "per_minute": (600, int, 1, 10**7),
        "advertised": (1, int, 0, 1),
        "window": (60.0, float, 0.1, 3600.0),
    },
}
FAULT_NAMES: tuple[str, ...] = tuple(_PARAMS)
MAX_BURST = 2  # a client that retries 3 times always gets through

_SERVER_ERROR_BODIES: tuple[tuple[bytes, bytes], ...] = (
    (b"application/json", b'{"error":"server_error","message":"upstream hiccup"}'),
    (b"text/html; charset=utf-8", b"<html><body><h1>Bad Gateway</h1><p>nginx</p></body></html>"),
    (b"text/plain", b""),
)
_SERVER_ERROR_STATUSES = (500, 502, 503, 504)


class FaultError(ValueError):
    """A fault name or parameter the sandbox does not know; the message says which."""


def unit(seed: int, *parts: object) -> float:
    """Map the seed and parts to a uniform number in [0, 1), the same in every process.

    `hash()` is salted per process, so a keyed digest it is.
    """
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _coerce(name: str, key: str, value: object) -> float:
    _, kind, low, high = _PARAMS[name][key]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FaultError(f"{name}.{key} must be a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise FaultError(f"{name}.{key} must be a number, got {value!r}") from None
    if kind is int and not number.is_integer():
        raise FaultError(f"{name}.{key} must be an integer, got {value!r}")
    if not low <= number <= high:
        raise FaultError(f"{name}.{key} must be between {low:g} and {high:g}, got {value!r}")
    return int(number) if kind is int else number


def normalize(specs: Iterable[FaultSpec]) -> dict[str, dict[str, float]]:
    """Validate fault specs (names or `{"name": ..., **params}`) and fill in defaults."""
    active: dict[str, dict[str, float]] = {}
    for spec in specs:
        given = {"name": spec} if isinstance(spec, str) else dict(spec)
        name = given.pop("name", None)
        if name not in _PARAMS:
            raise FaultError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
        unknown = set(given) - set(_PARAMS[name])
        if unknown:
            raise FaultError(f"unknown parameter(s) for {name}: {', '.join(sorted(unknown))}")
        params = {key: spec_[0] for key, spec_ in _PARAMS[name].items()}
        params.update({key: _coerce(name, key, value) for key, value in given.items()})
        active[name] = params
    return active


def parse_cli(text: str) -> list[dict[str, Any]]:
    """Parse `name[:key=value...][,name...]`, e.g. `rate_limit:ratio=0.5,slow:delay=0.2`."""
    specs: list[dict[str, Any]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, *pairs = item.split(":")
        spec: dict[str, Any] = {"name": name}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep:
                raise FaultError(f"expected key=value in {item!r}, got {pair!r}")
            spec[key] = value
        specs.append(spec)
    normalize(specs)
    return specs


class Faults:
    """The active faults and the per-URL attempt counts their decisions are keyed on."""

    def __init__(self, seed: int, specs: Iterable[FaultSpec] = ()) -> None:
        self.seed = seed
        self.set(specs)

    def set(self, specs: Iterable[FaultSpec]) -> None:
        """Replace the active faults; attempt and page counts start again from zero."""
        self.active = normalize(specs)
        self.attempts: dict[str, int] = {}
        self.pages = 0  # data pages served since these faults were set
        self.outage_served = 0
        self.outage_passed = 0
        self.set_at = time.time()  # where a frozen desk clock stands
        self.keyed = bool({"rate_limit", "server_errors", "live_updates"} & set(self.active))
        budget = self.active.get("rate_budget")
        self.budget = (
            RateWindow(budget["per_minute"], budget["window"], bool(budget["advertised"]))
            if budget
            else None
        )
        self.delayed = 0  # requests held by `latency` so far: its jitter's sequence

    def latency(self) -> float:
        """Seconds the next request waits under `latency`: `ms`, give or take `jitter_ms`.

        The jitter is the seed's, drawn in arrival order, so a run is repeatable.
        """
        params = self.active["latency"]
        self.delayed += 1
        jitter = (2 * unit(self.seed, "latency", self.delayed) - 1) * params["jitter_ms"]
        return max(0.0, params["ms"] + jitter) / 1000

    def describe(self) -> list[dict[str, Any]]:
        """The active faults as `{"name": ..., **params}` dicts, for health and logs."""
        return [{"name": name, **params} for name, params in self.active.items()]

    def attempt(self, url: str) -> int:
        """Count one more fault-eligible request for `url` and return its 0-based number."""
        number = self.attempts.get(url, 0)
        self.attempts[url] = number + 1
        return number

    def transient(self, url: str, attempt: int) -> tuple[str, int, Headers, bytes] | None:
        """Return (fault, status, headers, body) if this attempt fails, else None.

        Each URL's plan is a burst of 1 or 2 failures per selected fault, capped at two in
        all, so the third retry of any URL succeeds; a fault's `burst` sets its length
        instead (uncapped), to probe how many attempts a client makes.
        """
        plan: list[str] = []
        cap = MAX_BURST
        for name in ("rate_limit", "server_errors"):
            params = self.active.get(name)
            if params and unit(self.seed, name, url) < params["ratio"]:
                burst = int(params["burst"])
                cap = max(cap, burst)
                plan += [name] * (burst or 1 + int(unit(self.seed, name, url, "burst") * MAX_BURST))
        if attempt >= min(len(plan), cap):
            return None
        name = plan[attempt]
        pick = unit(self.seed, name, url, attempt)
        if name == "rate_limit":
            wait = int(self.active[name]["retry_after"])
            forms = (str(wait), "0", formatdate(time.time() + wait, usegmt=True))
            headers = [
                (b"content-type", b"application/json"),
                (b"retry-after", forms[int(pick * 3)].encode()),
            ]
            return name, 429, headers, b'{"error":"rate_limited"}'
        status = _SERVER_ERROR_STATUSES[int(pick * 4)]
        content_type, body = _SERVER_ERROR_BODIES[int(unit(self.seed, name, url, attempt, "b") * 3)]
        return name, status, [(b"content-type", content_type)], body

    def in_outage(self) -> bool:
        """Whether `outage` fails this data request: `requests` of them, after `after` passed.

        A count, not a clock, so a test of "the API came back" needs no sleeping.
        """
        params = self.active.get("outage")
        if not params:
            return False
        if self.outage_passed < params["after"]:
            self.outage_passed += 1
            return False
        if self.outage_served >= params["requests"]:
            return False
        self.outage_served += 1
        return True

    def pick(self, url: str, attempt: int, index: int, size: int) -> int:
        """Choose which of `size` records a live update moves, deterministically."""
        return int(unit(self.seed, "live_updates", url, attempt, index) * size)

    def hides_id(self, collection: str, ident: int) -> bool:
        """Tell whether `missing_id` serves this record without its id."""
        params = self.active.get("missing_id")
        return bool(params) and unit(self.seed, "missing_id", collection, ident) < params["ratio"]

    def clock(self) -> float:
        """The desk's clock: ours, unless `desk_clock` moves or freezes it.

        It stamps changes and fills the `Date` header, as one desk's servers share a clock.
        """
        params = self.active.get("desk_clock")
        if not params:
            return time.time()
        return (self.set_at if params["frozen"] else time.time()) + params["offset"]

    def stamp(self) -> int:
        """The stamp of a change under `desk_clock`: its second, `late` seconds behind.

        No clamp to the newest record here: a desk that stamps late (a database clock behind
        its web servers', a change committed after it was stamped) puts records where a
        client may already have read past, which is what this fault is for.
        """
        return int(self.clock()) - int(self.active["desk_clock"]["late"])

    @property
    def drifting(self) -> bool:
        """Whether schema drift is in effect: active, and enough pages served."""
        params = self.active.get("schema_drift")
        return bool(params) and self.pages >= params["after_pages"]


def drift(collection: str, record: dict[str, Any]) -> dict[str, Any]:
    """Apply schema drift: new fields on both collections, and one field changes type.

    Tickets gain `satisfaction_rating` (object) and `via_channel` (string), and their
    `requester_id` turns from an integer into a string like "u-1042". Comments gain
    `via_channel` and `attachments` (list of objects).
    """
    ident = record.get("id", 0)
    channel = ("email", "web", "chat", "api", "phone")[ident % 5]
    record["via_channel"] = channel
    if collection == "tickets":
        record["requester_id"] = f"u-{record['requester_id']}"
        record["satisfaction_rating"] = {
            "score": ("good", "bad", "offered", "unoffered")[ident % 4],
            "comment": "Très bien 👍" if ident % 3 else None,
        }
    else:
        record["attachments"] = [{"file_name": f"screenshot-{ident}.png", "size": 1024 + ident}]
    return record


def drift_blob(collection: str, blob: bytes) -> bytes:
    """Return a record's JSON with schema drift applied."""
    return orjson.dumps(drift(collection, orjson.loads(blob)))
