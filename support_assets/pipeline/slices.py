"""A run's window read as consecutive slices in time order, each committed by its own dlt run.

A full load of a real desk takes minutes to hours; as one dlt run, a kill or a failure at
any point loses all of it. Cut into slices, each slice's rows and dlt state are committed
before the next starts, and a marker committed with them (see `resume`) lets a retry of
the same run, or a re-execution from failure, start at the slice that was in flight.

Sizing: each slice aims at `SUPPORT_COMMIT_RECORDS` records of the top-level resources
(comments read per ticket ride with their tickets). The warehouse gives the first
estimate (the rows it holds in the window, or its density); without one the first slice
is an eighth of the window. Each next span is the last one scaled by target / rows
written, within x1/4..x4, so a dense stretch does not make one huge slice nor an empty one
hundreds of tiny ones. A window expected to hold fewer records than the target is read in
one dlt run, exactly as without slicing (an idle refresh costs what it did).

Bounded slices end on whole seconds (the desk's since and before parameters are) and
never past the desk's clock: a record the desk stamps during the run belongs to the last
slice, which ends where an unsliced run would.
"""

import dataclasses
import datetime as dt
import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from dlt.destinations.sql_client import SqlClientBase
from dlt.extract.source import DltSource

from support_assets.partitions import RunPlan
from support_assets.pipeline.history import close_superseded_versions
from support_assets.pipeline.load import SupportLoad
from support_assets.pipeline.resume import CursorMove, Marker, ResumeMark, stored_marker, window_key
from support_assets.pipeline.warehouse import column_of, scalar_of, schema_changes
from support_assets.settings import Settings
from support_assets.source import support_source
from support_assets.source.connection import Connection
from support_assets.source.contract import COMMENTS_RESOURCE
from support_assets.source.privacy import CustomerData
from support_assets.source.timestamps import format_ts
from support_assets.source.window import OPEN_END, LoadWindow

FIRST_SPAN_FRACTION = 1 / 8
SPAN_SCALE = (0.25, 4.0)
# Without the desk's clock yet (a desk with no token request, before its first answer),
# a bounded slice ends at least this far behind ours.
UNKNOWN_CLOCK_MARGIN = dt.timedelta(days=1)

# Metadata keys of a sliced load, per asset.
SLICES = "slices"
RESUMED_FROM = "resumed_from"


@dataclasses.dataclass(frozen=True)
class Slice:
    """One dlt run's share of the window; `end` None is the incremental's open end."""

    number: int
    start: dt.datetime
    end: dt.datetime | None
    last: bool


def next_span(span: float, records: int, target: int) -> float:
    """The next slice's span: scaled towards the target, at most x4 either way."""
    low, high = SPAN_SCALE
    return span * min(high, max(low, target / max(records, 1)))


def ceil_second(value: dt.datetime) -> dt.datetime:
    """The whole second at or after `value`: slice bounds the desk's parameters can carry."""
    floor = value.replace(microsecond=0)
    return floor if floor == value else floor + dt.timedelta(seconds=1)


class SliceLoader:
    """Reads a run plan slice by slice through `load`, resuming a lineage's earlier attempt."""

    def __init__(
        self,
        settings: Settings,
        plan: RunPlan,
        load: SupportLoad,
        connection: Connection,
        resources: list[str],
        lineage: str,
        log: logging.Logger,
        customer_data: CustomerData | None = None,
    ) -> None:
        self.settings = settings
        self.customer_data = customer_data
        self.plan = plan
        self.load = load
        self.connection = connection
        self.resources = resources
        self.lineage = lineage
        self.log = log
        api = settings.api
        self.top_level = [
            r for r in resources if not (r == COMMENTS_RESOURCE and api.comments.per_ticket)
        ]
        # An incremental load starts at its stored cursors and moves them; a full refresh
        # (an incremental plan too, whose window dlt sees bounded) does neither.
        self.moves_cursor = plan.incremental and not plan.full_refresh
        kind = "full_refresh" if plan.full_refresh else "incremental" if plan.incremental else ""
        end = None if plan.incremental or plan.reaches_now else plan.window.end
        self.key = window_key(resources, plan.window.start, end, kind or "backfill")
        self.start = self._start()
        self.end = plan.source_window.end  # None: the incremental's open end
        # A full refresh that keeps history is one load (see `_first_span`): never resumed.
        one_load = plan.full_refresh and settings.history == "scd2"
        self.resumed = None if one_load else stored_marker(load.pipeline, self.key, lineage)
        self.closed = 0  # versions superseded within the run, closed after each slice
        self.refresh_since = (
            self.resumed.refresh_since if self.resumed and self.resumed.refresh_since else None
        ) or f"{time.time():.6f}"
        self.current: Slice | None = None
        self.done_span = 0.0  # seconds of the window committed by this attempt
        self.total_span = 0.0
        self.slices = 0
        self.changes: dict[str, list[str]] = {}

    def _start(self) -> dt.datetime:
        """Where the window's reading starts: an incremental's stored cursors, if all have one."""
        start = self.plan.window.start
        if not self.moves_cursor:
            return start
        cursors = [self.load.cursors_before.get(r) for r in self.top_level]
        if cursors and all(c is not None for c in cursors):
            return max(start, min(c for c in cursors if c is not None))
        return start

    def run(self, run_one: Callable[[DltSource], Iterable[Any]]) -> list[Any]:
        """Load every slice in time order; returns the last slice's dagster-dlt results."""
        start, span = self.start, None
        if self.resumed is not None:
            start, span = max(start, self.resumed.done_until), self.resumed.span_s
            self.log.info(
                f"Resuming this run's earlier attempt: {self.resumed.slices} slice(s) up to "
                f"{format_ts(self.resumed.done_until)} are committed; reading on from there."
            )
        planning_end = self._planning_end()
        self.total_span = max(0.0, (planning_end - start).total_seconds())
        if span is None:
            span = self._first_span(start, planning_end)
        results: list[Any] = []
        # Numbered across attempts: a resumed attempt's first slice is the one in flight.
        number = (self.resumed.slices if self.resumed else 0) + 1
        first = number
        while True:
            end, last = self._slice_end(start, span)
            self.current = Slice(number, start, end, last)
            quiet = last and number == first == 1  # an unsliced load reads as it always did
            if not quiet:
                self.log.info(f"Slice {number}: {_describe(start, end)}.")
            asked = self.connection.telemetry.snapshot().requests
            source = self._source(self.current, span)
            results = list(run_one(source))
            self.load.committed = True
            if self.settings.history == "scd2":
                # After each slice, not once at the end: a run killed after this slice
                # leaves one current version per id all the same.
                tables = [r.asset_key.path[-1] for r in results if r.asset_key]
                self.closed += close_superseded_versions(
                    self.load.pipeline, tables, self.settings.api
                )
            self.changes.update(schema_changes(self.load.pipeline))
            self.slices += 1
            read = self._rows_written()
            if not quiet:
                asked = self.connection.telemetry.snapshot().requests - asked
                self.log.info(f"Slice {number} committed: {read} records, {asked} requests.")
            if last or end is None:
                return results
            self.done_span += (end - start).total_seconds()
            span = next_span(span, read, self.settings.commit_records)
            start, number = end, number + 1

    def _rows_written(self) -> int:
        """Rows the slice's load wrote to the top-level tables: what sizes the next slice.

        Not the records fetched: a desk without an upper-bound parameter serves records
        past the slice's end (the paginator drops them), and counting those would shrink
        the slices without end.
        """
        trace = self.load.pipeline.last_trace
        info = trace.last_normalize_info if trace else None
        counts = info.row_counts if info else {}
        return sum(counts.get(table, 0) for table in self.top_level)

    def _planning_end(self) -> dt.datetime:
        now = dt.datetime.now(dt.UTC)
        end = self.end if self.end is not None and self.end != OPEN_END else now
        return min(end, now)

    def _first_span(self, start: dt.datetime, end: dt.datetime) -> float:
        """The whole window when it holds fewer records than the target, else a share of it."""
        whole = (end - start).total_seconds()
        target = self.settings.commit_records
        # A full refresh that keeps history is one load: dlt retires what is absent from
        # the load, and a slice lacks the rest of the window (see `source/history.py`).
        one_load = self.plan.full_refresh and self.settings.history == "scd2"
        if target == 0 or whole <= 0 or one_load:
            return math.inf
        estimate = self._estimate(start, end)
        if estimate is None:
            return whole * FIRST_SPAN_FRACTION
        if estimate < target:
            return math.inf
        return whole * target / estimate

    def _estimate(self, start: dt.datetime, end: dt.datetime) -> int | None:
        """Records the window likely holds, from the warehouse; None when it knows nothing.

        A bounded window's own rows when it holds some; an incremental's, the rows of the
        equal span before its start; else the table's density over its whole range. One
        SQL client for every question: each opening resolves dlt's destination
        configuration and opens the database again, which an idle refresh would feel.
        """
        whole = end - start
        reference = (start - whole, start) if self.moves_cursor else (start, end)
        estimate: int | None = None
        with self.load.pipeline.sql_client() as client:
            for resource in self.top_level:
                count = self._count(client, resource, *reference)
                if count is None:
                    continue
                if count == 0:
                    count = self._density(client, resource, whole)
                estimate = (estimate or 0) + count
        return estimate

    def _count(
        self, client: SqlClientBase[Any], table: str, start: dt.datetime, end: dt.datetime
    ) -> int | None:
        column = column_of(self.settings.api.cursor_of(table))
        value = scalar_of(
            client,
            f"select count(*) from {client.make_qualified_table_name(table)} where {column} "
            f">= '{start.isoformat()}' and {column} < '{end.isoformat()}'",
        )
        return None if value is None else int(value)

    def _density(self, client: SqlClientBase[Any], table: str, span: dt.timedelta) -> int:
        column = column_of(self.settings.api.cursor_of(table))
        name = client.make_qualified_table_name(table)
        rows = scalar_of(client, f"select count(*) from {name}") or 0
        seconds = scalar_of(
            client,
            f"select extract(epoch from max({column})) - extract(epoch from min({column})) "
            f"from {name}",
        )
        if not rows or not seconds:
            return int(rows)
        return int(rows * span.total_seconds() / float(seconds))

    def _horizon(self) -> dt.datetime:
        """The latest end a bounded slice may have: the desk's window end, once known."""
        connection = self.connection
        # The token's answer carries the desk's clock: listen before asking for it (the
        # source adds the same hook when it is built, which is later).
        hooks = connection.session.hooks["response"]
        if connection.clock.observe not in hooks:
            hooks.append(connection.clock.observe)
        if connection.clock.date is not None or callable(getattr(connection.auth, "bearer", None)):
            return connection.window_end()
        return dt.datetime.now(dt.UTC) - UNKNOWN_CLOCK_MARGIN

    def _slice_end(self, start: dt.datetime, span: float) -> tuple[dt.datetime | None, bool]:
        if math.isinf(span):
            return self.end, True
        limit = self._horizon()
        if self.end is not None:
            limit = min(limit, self.end)
        end = ceil_second(start + dt.timedelta(seconds=max(span, 1.0)))
        if end >= limit:
            return self.end, True
        return end, False

    def _source(self, piece: Slice, span: float) -> DltSource:
        """The slice's dlt source, with the marker its commit carries."""
        connection = self.connection
        if not piece.last:
            connection = dataclasses.replace(connection, slice_end=piece.end)
        window = LoadWindow(piece.start, piece.end)
        source = support_source(
            connection=connection, window=window, customer_data=self.customer_data
        )
        marker = None
        if not piece.last and piece.end is not None:
            marker = Marker(
                lineage=self.lineage,
                done_until=piece.end,
                span_s=span,
                slices=piece.number,
                refresh_since=self.refresh_since if self.plan.full_refresh else None,
            )
        for name in self.top_level:
            move = None
            if self.moves_cursor and not piece.last and piece.end is not None:
                cursor = self.settings.api.cursor_of(name)
                move = CursorMove(name, cursor, self.plan.window.start, piece.end)
            if marker is not None or move is not None or piece.number > 1 or self.resumed:
                # The last slice clears the marker: a later re-execution reads all again.
                source.resources[name].add_step(ResumeMark(self.key, marker, move))
        return source

    def metadata(self) -> dict[str, Any]:
        """How the load was cut: slices committed by this attempt, and where it resumed."""
        metadata: dict[str, Any] = {SLICES: self.slices}
        if self.resumed is not None:
            metadata[RESUMED_FROM] = format_ts(self.resumed.done_until)
        return metadata

    @property
    def fraction_done(self) -> float:
        """Share of the window's span committed by this attempt, for the estimate of time left."""
        return self.done_span / self.total_span if self.total_span > 0 else 0.0


def _describe(start: dt.datetime, end: dt.datetime | None) -> str:
    bound = format_ts(end) if end is not None and end != OPEN_END else "now"
    return f"updated_at in [{format_ts(start)}, {bound})"
