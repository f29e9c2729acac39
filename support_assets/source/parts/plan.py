"""How a window is planned into time parts: how many readers, and where to split.

Kept apart from the reading (`parts/__init__.py`): plain arithmetic on the totals the
parts' first pages report, and the one piece of state it shares between the readers (the
share of pages each reader should get, set by the whole window's total).
"""

import threading
from collections.abc import Callable

from support_assets.source.budget import RateBudget

# Parts a window may be split into at once (as many as the sequential slices had).
MAX_PARTS = 64
# Readers per request the run may have in flight (`max_concurrency`). A reader waiting out
# a retry's backoff (a 5xx, a 429 that is its own) holds no concurrency slot, so a spare
# reader sends in its place: the slots stay busy, the bound on the wire is unchanged. At
# concurrency 1 one reader reads the window whole, in order, as a sequential reader does.
READERS_PER_SLOT = 2
# The desk's budget sets the pace when it spaces requests at least this far apart (100 a
# second): every vendor's published budget does (Zendesk's 700 a minute is 86 ms), while
# a budget advertised far above what a run sends spaces them by microseconds.
PACED_INTERVAL_S = 0.01


def budget_paces(budget: RateBudget) -> bool:
    """Whether the desk's rate budget, not the readers, sets the pace now."""
    return budget.interval >= PACED_INTERVAL_S


def readers_for(max_concurrency: int) -> int:
    """Reader threads for a run's `max_concurrency` (see `READERS_PER_SLOT`)."""
    return 1 if max_concurrency <= 1 else READERS_PER_SLOT * max_concurrency


class PartPlan:
    """The split decisions for one resource's window, shared by its part readers."""

    def __init__(
        self,
        *,
        limit: int,
        window_pages: int,
        workers: int,
        paced: Callable[[], bool] = lambda: False,
    ) -> None:
        self.limit = limit
        self.window_pages = window_pages
        self.workers = workers
        # Whether the desk's rate budget sets the pace now: then readers cannot go faster,
        # and a part more only costs its extra request out of that budget.
        self.paced = paced
        self._part_pages = window_pages
        self._lock = threading.Lock()

    def parts_for(self, total: int, parent_total: int | None, alone: bool = False) -> int:
        """Into how many parts a part of `total` records is split (1: read it whole).

        The whole window's total sets the share: the pages each reader would read if they
        spread evenly, never more than `window_pages`. A window of no more than two pages
        per reader is read whole: a split costs a request per part, more than it saves.
        A part still holding nearly all of its parent's records is not split again in
        time (its records sit closer together than any split resolves: a bulk update's
        second), unless it is above `window_pages`, the sequential reader's bound.

        `alone`: the tail, which starts once every other part is read. Read whole, it
        would keep one reader busy at the end of the run while the others idle (a share
        of the window, up to `window_pages` pages); so it is spread over every reader, its
        own last part the new tail, until that is small. Not while the desk's budget sets
        the pace (`paced`): each part costs a request of that budget, and gains nothing.
        """
        pages = -(-total // self.limit)
        with self._lock:
            if parent_total is None and self.workers > 1:
                self._part_pages = max(2, min(self._part_pages, -(-pages // self.workers)))
            share = self._part_pages
        over_bound = pages > self.window_pages
        crowded = parent_total is not None and total * 10 > parent_total * 9
        if not over_bound and (pages <= 2 * self.workers or crowded):
            return 1
        by_share = 1 if pages <= share else min(MAX_PARTS, -(-pages // share))
        spread = alone and not crowded and not self.paced()
        return max(by_share, min(MAX_PARTS, self.workers)) if spread else by_share
