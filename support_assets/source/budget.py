"""One rate budget per desk: every request of a run, and of every run in this process.

A vendor grants an account a number of requests per minute, whoever sends them. Retrying
each 429 on its own wastes a backoff per request and, with several workers, lets the
others run into the same wall; so every request asks the desk's one `RateBudget` for a
slot first (`acquire`) and shows it each answer (`observe`). The budget paces three ways:

- the desk advertises what is left (`X-RateLimit-Remaining`) and when the window resets
  (`X-RateLimit-Reset`, or the preset's names): the remaining requests are spread evenly
  until the reset, counting those still in flight as spent, so a run that knows its budget
  meets almost no 429. A desk that advertises what is left but not when it resets
  (Zendesk outside its list endpoints, Freshdesk, Help Scout) is not slowed while budget
  is left; once it is spent, requests go one per `60 / limit` seconds until an answer
  shows budget again or a 429 says how long to wait;
- a 429 holds every worker until its wait passes (`pause`), not only the one that got it:
  the others would meet the same 429. Unless the 429 says the budget is not spent
  (`spent_by`: what is left is above 0, as when an endpoint's own limit refuses, such as
  Zendesk's exports' 10 a minute, or a proxy does): then it is that request's own, only
  it waits, and the others go on. A 429 that says nothing of the budget is the budget's;
- `SUPPORT_MAX_REQUESTS_PER_MINUTE` caps the rate for desks that advertise nothing, as a
  smooth token bucket of one token (one request every `60 / cap` seconds) rather than a
  burst and then a minute's stall.

The registry is per process: runs in one process that point at the same desk (scheme,
host and port) share one budget. Runs in other processes (another run worker, another
code location) do not see it; across processes what is shared is the desk's own count,
which its headers report to each of them, and its 429s.

Thread-safe: every decision is taken under one lock, and every wait happens outside it,
so a worker waiting for its slot (or for its own retry backoff, which the session sleeps
without the budget) never blocks the others.
"""

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import requests

# A reset above this many seconds (about 31 years) is a Unix time, not a delay.
EPOCH_THRESHOLD = 10**9
# The three presets' desks publish per-minute limits: when a spent budget's reset is not
# advertised, requests go at the plan's steady rate, one per this many seconds / limit.
LIMIT_WINDOW_S = 60.0
# A spent budget with neither its reset nor its limit advertised: probe this often.
PROBE_INTERVAL_S = 1.0


@dataclasses.dataclass(frozen=True)
class BudgetHeaders:
    """The desk's names for its budget; None for one it does not send."""

    remaining: str | None = "X-RateLimit-Remaining"
    reset: str | None = "X-RateLimit-Reset"
    limit: str | None = "X-RateLimit-Limit"


@dataclasses.dataclass(frozen=True)
class Slot:
    """What one `acquire` waited: planned pacing, and a 429's pause (reported apart)."""

    paced_s: float = 0.0
    held_s: float = 0.0


class RateBudget:
    """The pacing of one desk, shared by every request sent to it from this process."""

    def __init__(
        self,
        max_per_minute: float = 0.0,
        headers: BudgetHeaders | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_per_minute = max_per_minute
        self.headers = headers or BudgetHeaders()
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0.0  # no request starts before this (pacing)
        self._paused_until = 0.0  # nor before this (a 429's wait)
        self._advertised_s = 0.0  # spacing from the desk's advertised budget
        self._in_flight = 0
        self._advertises = False  # whether an answer has said what is left (`observe`)

    @property
    def interval(self) -> float:
        """Seconds between two request starts, as things stand."""
        cap = LIMIT_WINDOW_S / self.max_per_minute if self.max_per_minute > 0 else 0.0
        return max(cap, self._advertised_s)

    def acquire(self, sleep: Callable[[float], None] = time.sleep, covered: float = 0.0) -> Slot:
        """Wait for this request's slot; what was waited, by cause, for the run's telemetry.

        `sleep` is the caller's (the session's), so a test's fake sleep is used here too.
        `covered` is the end of a pause the caller has already slept through (its own
        429's retry wait, see `pause`): it is not held by that pause twice.
        """
        paced = held = 0.0
        with self._lock:
            now = self._clock()
            pause = self._pause_after(covered)
            start = max(now, self._next, pause)
            self._next = start + self.interval
        while True:
            wait = start - now
            if wait > 0:
                if pause >= start:
                    held += wait
                else:
                    paced += wait
                sleep(wait)
            with self._lock:
                now = self._clock()
                current = self._pause_after(covered)
                # A 429 that arrived during the wait holds this request too: it takes the
                # first slot after that pause instead.
                if current <= pause or current <= now:
                    self._in_flight += 1
                    return Slot(paced, held)
                pause = current
                start = max(now, self._next, pause)
                self._next = start + self.interval

    def _pause_after(self, covered: float) -> float:
        return self._paused_until if self._paused_until > covered else 0.0

    def pause(self, seconds: float) -> float:
        """Hold every worker for `seconds` from now (a 429's wait); returns when it ends.

        The worker that got the 429 sleeps its own retry wait, at least this long, and
        passes the returned end to its next `acquire` as `covered`: it is not held twice.
        """
        with self._lock:
            until = self._clock() + seconds
            self._paused_until = max(self._paused_until, until)
            return until

    def spent_by(self, response: requests.Response) -> bool:
        """Whether a 429 is the desk's budget spent (every worker waits; see the module).

        Only an explicit "budget left" makes it one request's own: Freshdesk's and Help
        Scout's 429 headers are not documented, and a budget 429 that says nothing must
        still stop everyone.

        Pausing every worker for a 429 that was not the budget's would stall the run once
        per such answer (a share of the requests, each pausing all of them for its wait);
        not pausing for one that was would send every other worker into the same wall.
        """
        remaining = _number(response.headers, self.headers.remaining)
        return remaining is None or remaining <= 0

    def forget_advertising(self) -> None:
        """Other header names: what the old ones said of the desk no longer applies."""
        with self._lock:
            self._advertises = False
            self._advertised_s = 0.0

    def release(self) -> None:
        """A request ended without an answer (a connection error): it spent no budget we know."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    def observe(self, response: requests.Response) -> None:
        """Read the desk's advertised budget off an answer and set the spacing from it."""
        headers = response.headers
        remaining = _number(headers, self.headers.remaining)
        reset = _number(headers, self.headers.reset)
        limit = _number(headers, self.headers.limit)
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            now = self._clock()
            if remaining is None:
                # The desk says nothing, or stopped saying: nothing to pace to. A 429 of
                # another cause that says nothing leaves the pace the desk set.
                if not (response.status_code == 429 and self._advertises):
                    self._advertised_s = 0.0
                return
            self._advertises = True
            # Requests sent but not answered yet spend budget this answer may not count.
            left = remaining - self._in_flight
            if reset is not None:
                if reset > EPOCH_THRESHOLD:
                    reset = max(0.0, reset - time.time())
                if left <= 0:
                    # Spent: nobody starts before the reset (no 429 needed to learn it).
                    self._next = max(self._next, now + reset)
                    self._advertised_s = 0.0
                else:
                    self._advertised_s = reset / left
                return
            if left > 0:
                self._advertised_s = 0.0
            else:
                self._advertised_s = LIMIT_WINDOW_S / limit if limit else PROBE_INTERVAL_S


def _number(headers: Mapping[str, str], name: str | None) -> float | None:
    """A header's value as a number; None when absent or not a number (never fatal)."""
    if not name:
        return None
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


_BUDGETS: dict[str, RateBudget] = {}
_REGISTRY_LOCK = threading.Lock()


def desk_key(base_url: str) -> str:
    """`https://acme.zendesk.com:443`: what makes two runs' requests one desk's."""
    parts = urlsplit(base_url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def budget_for(
    base_url: str, max_per_minute: float = 0.0, headers: BudgetHeaders | None = None
) -> RateBudget:
    """The process's budget for the desk at `base_url`, made on first use.

    A later run's settings replace the cap and header names: one desk, one configuration
    per process is the normal case, and the newest run's is the one its user set last.
    """
    key = desk_key(base_url)
    with _REGISTRY_LOCK:
        budget = _BUDGETS.get(key)
        if budget is None:
            budget = _BUDGETS[key] = RateBudget(max_per_minute, headers)
        else:
            budget.max_per_minute = max_per_minute
            if (headers or BudgetHeaders()) != budget.headers:
                budget.headers = headers or BudgetHeaders()
                budget.forget_advertising()
        return budget


def forget_budgets() -> None:
    """Drop every desk's budget: for tests, which point many runs at one sandbox."""
    with _REGISTRY_LOCK:
        _BUDGETS.clear()
