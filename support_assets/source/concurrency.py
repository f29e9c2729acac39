"""One bound on the requests a run has in flight, whoever sends them.

Three kinds of thread send requests in a run: dlt's extract workers (both resources, and
the per-ticket children it runs as deferred calls), and the part readers of a windowed
resource (`parts.py`). Each is bounded on its own, so the bound that holds for all of
them together sits where every request passes: the session's transport adapter.

The adapter sends one attempt. The session's retries and their waits (backoff, Retry-After)
happen above it, in the thread that sent the request, without holding a slot: one
request's retries never stall the others.
"""

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from support_assets.source.contract import MAX_CONCURRENCY


class LimitedAdapter(HTTPAdapter):
    """An HTTP adapter that lets at most `limit` attempts be in flight at once.

    A slot is held until the body is read: a response whose body still streams in is
    still a request in flight, for the desk as for this machine's memory.
    """

    def __init__(self, limit: int = MAX_CONCURRENCY) -> None:
        if limit < 1:
            raise ValueError(f"the request limit must be at least 1, not {limit}")
        # Enough pooled connections that no thread waits for a socket under the limit.
        super().__init__(pool_connections=4, pool_maxsize=max(16, limit))
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)
        self._holding = threading.local()

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for this thread; a thread that holds one already keeps it.

        The session takes its slot before the rate budget paces it (`session._send_paced`):
        a request queued for a slot is not in flight, and must not count as such in the
        budget, nor leave with a start time reserved while it queued.
        """
        if getattr(self._holding, "held", False):
            yield
            return
        with self._slots:
            self._holding.held = True
            try:
                yield
            finally:
                self._holding.held = False

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, **kwargs: Any
    ) -> requests.Response:
        """Send one attempt once a slot is free; free it when the body has arrived."""
        with self.slot():
            response = super().send(request, stream=stream, **kwargs)
            if not stream:
                _ = response.content  # read under the slot, as requests would right after
            return response


def limit_requests(session: requests.Session, limit: int) -> LimitedAdapter:
    """Route every request of `session` through one `LimitedAdapter` of `limit` slots."""
    adapter = LimitedAdapter(limit)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return adapter
