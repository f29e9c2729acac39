"""Freshdesk's rate limits: credits per minute, its headers and its 429.

The behaviours and their sources are listed in the package docstring.
"""

from typing import TYPE_CHECKING

from support_assets.sandbox.asgi import JSON, Response
from support_assets.sandbox.rate import Grant
from support_assets.sandbox.vendors.freshdesk.order import Index

if TYPE_CHECKING:
    from support_assets.sandbox.state import Sandbox

RATE_LIMIT = 200  # credits a minute on the Growth plan
_THROTTLED = b'{"message":"You have exceeded the limit of requests per minute"}'


def throttled(wait: int) -> Response:
    """Freshdesk's 429: `Retry-After` always in seconds."""
    return 429, [*JSON, (b"retry-after", b"%d" % wait)], _THROTTLED


def take(sandbox: "Sandbox", credits: int) -> Grant | None:
    """Spend `credits` of the `rate_budget`; None when that fault is not set."""
    budget = sandbox.faults.budget
    if budget is None:
        return None
    grant = budget.take(credits)
    if not grant.allowed:
        sandbox.stats.fault("rate_budget")
    return grant


def metered(
    index: Index, sandbox: "Sandbox", answer: Response, credits: int, grant: Grant | None = None
) -> Response:
    """Add the rate-limit headers; a 429 costs nothing and leaves nothing.

    Under `rate_budget` they are the budget's (`grant`), else this desk-clock minute's.
    """
    status, headers, body = answer
    if sandbox.faults.budget is not None:
        if grant is None or not grant.advertised:
            return answer
        total, remaining = grant.limit, grant.remaining
    else:
        minute = int(sandbox.faults.clock()) // 60
        if minute != index.minute:
            index.minute, index.used = minute, 0
        index.used += 0 if status == 429 else credits
        total, remaining = RATE_LIMIT, max(0, RATE_LIMIT - index.used)
    limits = [
        (b"x-ratelimit-total", b"%d" % total),
        (b"x-ratelimit-remaining", b"%d" % (0 if status == 429 else remaining)),
        (b"x-ratelimit-used-currentrequest", b"%d" % (0 if status == 429 else credits)),
    ]
    return status, [*headers, *limits], body
