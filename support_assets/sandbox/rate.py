"""Two things a real desk has and loopback lacks: latency, and a budget of requests.

`latency` (`ms`, `jitter_ms`) holds each request that long before it is answered, with an
`await`, so concurrent requests overlap as they would over a network instead of queueing
behind each other. `rate_budget` (`per_minute`, `advertised`, `window`) is a real fixed
window on the server, as the desks' per-minute limits are [ZD-RL; FD-RL; HS-RL in
docs/vendors.md]: `per_minute * window / 60` requests per window of `window` seconds
(60 unless a test shortens it), counted from when the fault was set; over it, a 429 with
`Retry-After` (or the desk's own header) until the window ends. Advertised, every
response the budget counted says what is left and when it resets, in the desk's form;
hidden (`advertised=0`), nothing does, as with a desk that publishes no headers.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from support_assets.sandbox.asgi import JSON, Headers, Response


@dataclass(frozen=True, slots=True)
class Grant:
    """The budget's answer to one request: let through or not, what is left, the reset."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # whole seconds until the window ends, at least 1 (rounded up)
    advertised: bool

    def generic_headers(self) -> Headers:
        """`X-RateLimit-Limit`, `-Remaining` and `-Reset` (seconds): the common form."""
        if not self.advertised:
            return []
        return [
            (b"x-ratelimit-limit", b"%d" % self.limit),
            (b"x-ratelimit-remaining", b"%d" % self.remaining),
            (b"x-ratelimit-reset", b"%d" % self.reset),
        ]

    def refusal(self) -> Response:
        """The reference contract's 429: `Retry-After` in seconds, the headers if advertised."""
        headers = [*JSON, (b"retry-after", b"%d" % self.reset), *self.generic_headers()]
        return 429, headers, b'{"error":"rate_limited"}'


class RateWindow:
    """A fixed window of requests on the server; one event loop calls it, so no lock."""

    def __init__(
        self,
        per_minute: float,
        window: float = 60.0,
        advertised: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = max(1, round(per_minute * window / 60))
        self.window = window
        self.advertised = advertised
        self._clock = clock
        self._start = clock()
        self._index = 0
        self._used = 0

    def take(self, cost: int = 1) -> Grant:
        """Spend `cost` of this window's budget, or refuse when it would go over."""
        now = self._clock()
        index = int((now - self._start) // self.window)
        if index != self._index:
            self._index, self._used = index, 0
        ends = self._start + (index + 1) * self.window
        reset = max(1, math.ceil(ends - now))
        if self._used + cost > self.limit:
            return Grant(False, self.limit, max(0, self.limit - self._used), reset, self.advertised)
        self._used += cost
        return Grant(True, self.limit, self.limit - self._used, reset, self.advertised)
