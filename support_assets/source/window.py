"""Which records a run reads, by the cursor field: its window, and where the window ends.

A run's window ends by the desk's clock, not ours (see the paginator's module docstring):
a change the desk stamps during the run lands past the window or in its last second, and
the next run reads that second again (the cursor is at most that second; the since
parameter is inclusive).
"""

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from dlt.common import logger

from support_assets.source.timestamps import second_after
from support_assets.source.workarounds import SharedInRun

# Far enough that only the desk's clock bounds a window (see `window_end`).
OPEN_END = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True)
class LoadWindow:
    """Which records a run reads, by `updated_at`.

    `end` None is the incremental refresh: from the stored cursor (or `start` on the first
    run) up to the moment the run starts, and the cursor moves. With `end` set it is a
    partition or backfill: exactly `[start, end)`, and the cursor stays.
    """

    start: dt.datetime
    end: dt.datetime | None = None


def full_refresh_window(window: LoadWindow) -> LoadWindow:
    """A full refresh's window as dlt must see it: bounded, so the stored cursor is ignored.

    The rows are merged like every other load (one row per id, the newest `updated_at`
    winning, which dlt's `replace` ignores); the cursor stays, and the next incremental
    run reads from it as before.
    """
    return dataclasses.replace(window, end=OPEN_END)


class ServerClock(SharedInRun):
    """The desk's own clock, as the `Date` header of the first response of a run says.

    A run's window must end where the desk's clock stood, not ours: a record the desk
    stamps during the run must land past the window, never inside it (see the module
    docstring). The first response of a run is the token's, fetched before any page.
    """

    def __init__(self) -> None:
        self.date: dt.datetime | None = None
        self._lock = threading.Lock()  # responses arrive on several threads at once

    def observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Response hook: keep the first `Date` header that parses."""
        if self.date is not None:
            return
        value = response.headers.get("Date")
        try:
            parsed = parsedate_to_datetime(value) if value else None
        except (TypeError, ValueError):
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            with self._lock:
                if self.date is None:  # the first one, even when two arrive together
                    self.date = parsed.astimezone(dt.UTC)


def window_end(clock: ServerClock, lag: int, our_now: Callable[[], dt.datetime]) -> dt.datetime:
    """Where a run's window ends: after the desk's current second, less `lag` seconds.

    A desk that stamps records up to `lag` seconds behind its `Date` header (a database
    clock behind its web servers', slow commits) is covered the same way. Our own clock is
    only a fallback, with a warning, for a desk that sends no `Date`.
    """
    now = clock.date
    if now is None:
        logger.warning(
            "The Support API sent no Date header: the load window ends by this machine's "
            "clock, which may differ from the desk's. Raise SUPPORT_WINDOW_LAG by the "
            "largest difference expected."
        )
        now = our_now()
    return second_after(now) - dt.timedelta(seconds=lag)
