"""Time parts of one windowed resource, read at once and fanned in.

A desk that filters by a window (`since` and `before`: the reference contract's offset
pages) can be read in parts: `[start, end)` split into sub-windows, each read on its own
thread (two per concurrency slot, `READERS_PER_SLOT`) by its own no-loss paginator, with
its own offsets, rereads and page check. The parts are planned adaptively: the first page
of a part reports its total, and a part with more than its share of pages is split again,
so data crowded into recent weeks still spreads over the readers instead of leaving one
reading while the others idle.

"Part" is not "slice": a slice is a window the Dagster side commits as one load; the parts
of a window are read in one load and committed together, so a part that fails fails the
resource (naming the part), dlt loads nothing and the cursor stays. Pages reach dlt through
a queue of a page per reader: a reader that runs ahead of the loader waits, and memory
holds at most a page per reader plus the queue. dlt's incremental step keeps the
largest cursor it sees, so pages arriving out of time order move the cursor correctly.

Desks without an upper-bound parameter (Zendesk, Freshdesk, Help Scout) have no parts:
there, concurrency is across the two resources and across per-ticket children.
"""

import datetime as dt
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dlt
from dlt.extract.resource import DltResource
from dlt.sources.helpers.rest_client.client import PageData, RESTClient
from dlt.sources.rest_api.config_setup import create_response_hooks

from support_assets.source.connection import Connection
from support_assets.source.page_check import PageCheck
from support_assets.source.paginators.offset import WindowedOffsetPaginator
from support_assets.source.parts.plan import (
    MAX_PARTS,
    PACED_INTERVAL_S,
    READERS_PER_SLOT,
    PartPlan,
    budget_paces,
    readers_for,
)
from support_assets.source.timestamps import format_ts

__all__ = [
    "MAX_PARTS",
    "PACED_INTERVAL_S",
    "READERS_PER_SLOT",
    "PartPlan",
    "PartReader",
    "budget_paces",
    "has_parts",
    "parted_resource",
    "readers_for",
]

_PAGE, _FAILED, _DONE = "page", "failed", "done"


def has_parts(entry: Mapping[str, Any]) -> bool:
    """Whether this resource's configuration reads a window by parts: offset with bounds."""
    endpoint = entry.get("endpoint", {})
    return isinstance(endpoint.get("paginator"), WindowedOffsetPaginator) and bool(
        endpoint.get("incremental")
    )


def parted_resource(entry: Mapping[str, Any], connection: Connection) -> DltResource:
    """The resource `entry` describes (in `rest_api`'s spelling), its window read in parts.

    Hints and the incremental cursor are those dlt's `rest_api` would build from the same
    entry; only the loop over pages differs.
    """
    endpoint = dict(entry["endpoint"])
    incremental = dict(endpoint["incremental"])
    since_param, before_param = incremental.pop("start_param"), incremental.pop("end_param")
    convert: Callable[[Any], Any] = incremental.pop("convert")
    cursor = dlt.sources.incremental(**incremental)
    reader = PartReader(
        name=str(entry["name"]),
        client=RESTClient(
            base_url=connection.base_url, auth=connection.auth, session=connection.session
        ),
        path=str(endpoint["path"]),
        params=dict(endpoint.get("params", {})),
        data_selector=endpoint["data_selector"],
        paginator=endpoint["paginator"],
        check=endpoint["response_actions"][0],
        workers=readers_for(connection.max_concurrency),
        query=lambda lower, upper: {since_param: convert(lower), before_param: convert(upper)},
        paced=lambda: budget_paces(connection.session.budget),
    )

    def read_window(
        incremental: dlt.sources.incremental[dt.datetime] = cursor,
    ) -> Iterator[Any]:
        yield from reader.pages(incremental.last_value, incremental.end_value)

    hints = {k: v for k, v in entry.items() if k not in ("endpoint", "include_from_parent")}
    return dlt.resource(read_window, **hints)(incremental=cursor)


class PartReader:
    """Reads one resource's window in parts on `workers` threads; see the module."""

    def __init__(
        self,
        *,
        name: str,
        client: RESTClient,
        path: str,
        params: Mapping[str, Any],
        data_selector: Any,
        paginator: WindowedOffsetPaginator,
        check: PageCheck,
        workers: int,
        query: Callable[[Any, Any], dict[str, Any]],
        paced: Callable[[], bool] = lambda: False,
    ) -> None:
        self.name = name
        self.client = client
        self.path = path
        self.params = dict(params)
        self.data_selector = data_selector
        self.template = paginator
        self.check = check
        self.workers = workers
        self.query = query
        self.plan = PartPlan(
            limit=paginator.limit,
            window_pages=paginator.window_pages,
            workers=workers,
            paced=paced,
        )
        self.parts_read = 0  # parts started in this run, for tests and benchmarks
        self._lock = threading.Lock()

    # --- the planner the part paginators call -----------------------------------------

    def parts_for(self, total: int, parent_total: int | None, alone: bool = False) -> int:
        """Into how many parts a part of `total` records is split (see `PartPlan`)."""
        return self.plan.parts_for(total, parent_total, alone)

    def read_apart(
        self, parts: list[tuple[dt.datetime, dt.datetime]], tail: bool, parent_total: int
    ) -> None:
        """Start a reader per part (they queue for the `workers` threads).

        The parts of the tail (the part that ends the window) end with a new tail.
        """
        for i, (lower, upper) in enumerate(parts):
            label = f"{format_ts(lower)} .. {format_ts(upper)}"
            query = self.query(lower, upper)
            self._start(label, query, tail and i == len(parts) - 1, parent_total)

    # --- the generator dlt runs ---------------------------------------------------------

    def pages(self, start: Any, end: Any) -> Iterator[Any]:
        """Every page of the window `[start, end)`, in the order the parts deliver them."""
        self._queue: queue.Queue[tuple[str, str, Any]] = queue.Queue(maxsize=self.workers)
        self._stop = threading.Event()
        self._open = 0
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=f"{self.name}-part")
        self._held: tuple[str, dict[str, Any], int | None] | None = None
        label = f"{format_ts(start)} .. {format_ts(end) if end is not None else 'now'}"
        try:
            self._start(label, self.query(start, end), tail=True)
            self._release()
            while True:
                kind, part, item = self._queue.get()
                if kind == _DONE:
                    # The steps after the paginator keep pages until one says it is the
                    # last (`ArrowPages` batches them): a part's reader has moved on by the
                    # time its page is taken here, so no page says so reliably. This one does.
                    yield _window_read()
                    return
                if kind == _FAILED:
                    raise _naming_part(item, self.name, part)
                yield item
        finally:
            # A failure, or dlt closing the resource: the other readers stop at their next
            # page; nothing they read reaches dlt any more.
            self._stop.set()
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _start(
        self,
        part: str,
        query: Mapping[str, Any],
        tail: bool = False,
        parent_total: int | None = None,
    ) -> None:
        """Submit a part; the tail waits until it is the only part left (see `_release`)."""
        with self._lock:
            self._open += 1
            self.parts_read += 1
            if tail:
                self._held = (part, {**self.params, **query}, parent_total)
                return
        self._pool.submit(self._read, part, {**self.params, **query}, False, parent_total)

    def _release(self) -> None:
        """Start the tail once every other part is read.

        What the desk changes during the run is stamped into the window's last second (or
        past it), which only the tail holds: read last, as a single reader reads it, it
        sees every change made while the other parts were read, and the run loads each
        record's newest version. A change made later still is read by the next run.
        """
        with self._lock:
            held = self._held if self._open == 1 else None
            if held is not None:
                self._held = None
        if held is not None:
            part, params, parent_total = held
            self._pool.submit(self._read, part, params, True, parent_total)

    def _read(
        self, part: str, params: dict[str, Any], tail: bool, parent_total: int | None
    ) -> None:
        check = PageCheck(
            resource=self.check.resource,
            data_selector=self.check.data_selector,
            primary_key=self.check.primary_key,
            offset_param=self.check.offset_param,
            telemetry=self.check.telemetry,
            cursor_field=self.check.cursor_field,
            credentials=self.check.credentials,
        )
        try:
            for page in self.client.paginate(
                method="GET",
                path=self.path,
                params=params,
                paginator=self.template.for_part(check, _Planner(self, tail, parent_total)),
                data_selector=self.data_selector,
                hooks=create_response_hooks([check]),
            ):
                if page and not self._put((_PAGE, part, page)):
                    return
        except BaseException as exc:  # every failure reaches the generator, which raises it
            self._put((_FAILED, part, exc))
            return
        finally:
            with self._lock:
                self._open -= 1
                last = self._open == 0
        if last:
            self._put((_DONE, part, None))
        else:
            self._release()

    def _put(self, message: tuple[str, str, Any]) -> bool:
        """Hand a message to the generator, waiting while the queue is full; False if stopped."""
        while not self._stop.is_set():
            try:
                self._queue.put(message, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


class _Planner:
    """One part's view of its reader: its total, its parent's, whether it is the tail."""

    def __init__(self, reader: PartReader, tail: bool, parent_total: int | None) -> None:
        self.reader = reader
        self.tail = tail
        self.parent_total = parent_total
        self.total = 0

    def parts_for(self, total: int) -> int:
        """As the reader plans it, knowing what the parent held and whether it is the tail."""
        self.total = total
        return self.reader.parts_for(total, self.parent_total, alone=self.tail)

    def read_apart(self, parts: list[tuple[dt.datetime, dt.datetime]]) -> None:
        """Hand the parts to the reader, the last of a tail's parts being the new tail."""
        self.reader.read_apart(parts, self.tail, self.total)


class _NoMorePages:
    """The paginator of `_window_read`'s page: nothing follows it."""

    has_next_page = False


def _window_read() -> PageData[Any]:
    """An empty page that ends the window, as an empty last page ends a sequential read."""
    return PageData([], request=None, response=None, paginator=_NoMorePages(), auth=None)  # type: ignore[arg-type]


def _naming_part(exc: BaseException, resource: str, part: str) -> BaseException:
    """The part's error, its message naming the resource's part (its type kept)."""
    where = f"{resource}: while reading the time part {part}"
    if exc.args and isinstance(exc.args[0], str):
        exc.args = (f"{exc.args[0]} ({where})", *exc.args[1:])
    else:
        exc.add_note(where)
    return exc
