"""Daily partitions on `updated_at` (UTC), and which records a run reads.

A partition is a window on `updated_at`, not a set of tickets: a ticket lives in the day of
its latest update, and moves to a later day when it is updated again. So:

- today's partition (the open one) is the incremental refresh: from the stored cursor to the
  moment the run starts, and the cursor moves;
- any other partition or range is exactly `[first day 00:00, day after the last 00:00)`,
  capped at the run's start, merged into the tables; the cursor does not move. Backfilling
  the whole range is a correct history load (and, while no cursor is stored, it is read as
  the first incremental refresh, so the cursor follows).

"Today" is the day the run was asked for, not the day it happens to start.
"""

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Collection
from typing import Any

import dagster as dg

from support_assets.schedules import REQUESTED_AT_TAG
from support_assets.settings import Settings
from support_assets.source.timestamps import aware, second_after
from support_assets.source.window import LoadWindow, full_refresh_window


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """One partition per UTC day from `SUPPORT_START_DATE`, today's open one included."""
    return dg.DailyPartitionsDefinition(
        start_date=settings.start_date.isoformat(), timezone="UTC", end_offset=1
    )


def start_of(settings: Settings) -> dt.datetime:
    """`SUPPORT_START_DATE` at 00:00 UTC: where history begins."""
    return dt.datetime.combine(settings.start_date, dt.time(), tzinfo=dt.UTC)


# Metadata keys of a load's window, per asset.
WINDOW = "window"
WINDOW_START = "window_start"
WINDOW_END = "window_end"
CURSOR_BEFORE = "cursor_before"
CURSOR_AFTER = "cursor_after"


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """What a run reads, and why, for the run log and the metadata."""

    window: LoadWindow
    incremental: bool
    description: str
    # A backfill whose range includes the latest partition: it reads up to the run's start.
    reaches_now: bool = False
    full_refresh: bool = False

    @property
    def source_window(self) -> LoadWindow:
        """The window as the source must get it (a full refresh's ignores the cursor)."""
        return full_refresh_window(self.window) if self.full_refresh else self.window

    def metadata(self, before: dt.datetime | None, after: dt.datetime | None) -> dict[str, Any]:
        """What the run read: a backfill's window, and the cursor before and after the run."""
        metadata: dict[str, Any] = {WINDOW: self.description}
        if not self.incremental:
            metadata[WINDOW_START] = dg.MetadataValue.timestamp(self.window.start)
            if self.window.end is not None:
                metadata[WINDOW_END] = dg.MetadataValue.timestamp(self.window.end)
        # A first incremental run has no stored cursor yet: it starts at SUPPORT_START_DATE.
        if before is None and self.incremental:
            before = self.window.start
        if before is not None:
            metadata[CURSOR_BEFORE] = dg.MetadataValue.timestamp(before)
        if after is not None:
            metadata[CURSOR_AFTER] = dg.MetadataValue.timestamp(after)
        return metadata


def plan_run(
    settings: Settings,
    time_window: dg.TimeWindow | None,
    now: dt.datetime,
    full_refresh: bool = False,
    as_of: dt.datetime | None = None,
) -> RunPlan:
    """Turn the run's partition (or range) into a load window.

    `as_of` is when the run was asked for (its tick, or its first attempt's creation): a
    run of today's partition that starts after midnight (a queued 23:45 tick, a retry) is
    still the incremental refresh, not a backfill of what has become yesterday.
    """
    asked = min(now, as_of) if as_of is not None else now
    today = dt.datetime.combine(asked.astimezone(dt.UTC).date(), dt.time(), tzinfo=dt.UTC)
    start_of_run = second_after(now)
    if full_refresh:
        window = LoadWindow(start=start_of(settings))
        return RunPlan(window, True, f"full refresh of {_range(window)}", full_refresh=True)
    if time_window is None or time_window.start >= today:
        window = LoadWindow(start=start_of(settings))
        return RunPlan(window, True, "incremental refresh from the stored cursor")
    end = min(time_window.end, start_of_run)
    window = LoadWindow(start=time_window.start.astimezone(dt.UTC), end=end.astimezone(dt.UTC))
    return RunPlan(
        window,
        False,
        f"backfill of {_range(window)}; the cursor stays",
        reaches_now=time_window.end > today,
    )


def continue_history(
    settings: Settings, plan: RunPlan, cursors: Collection[str], resources: Collection[str]
) -> RunPlan:
    """A backfill from the first partition through the latest one loads as the incremental.

    Such a range is the whole history up to now, which is what a first incremental run
    reads; run as one, it leaves the cursor where the loaded history ends, and the next
    refresh does not read all of history again. Only while none of `resources` has a
    cursor (`cursors`): with one stored, dlt would start there and skip the part of the
    range a repair backfill is for; and a range that starts later or ends in the past
    leaves records unread before or after it, which a cursor must never pass.
    """
    window = plan.window
    if plan.incremental or not plan.reaches_now or window.start > start_of(settings):
        return plan
    if set(cursors) & set(resources):
        return plan
    return RunPlan(
        LoadWindow(start=start_of(settings)),
        True,
        f"backfill of every partition, {_range(window)}, read as the first incremental "
        "refresh: the cursor follows",
    )


def _range(window: LoadWindow) -> str:
    end = window.end.isoformat() if window.end else "now"
    return f"updated_at in [{window.start.isoformat()}, {end})"


def requested_at(context: dg.AssetExecutionContext) -> dt.datetime | None:
    """When the run was asked for: its tick's time, else its first attempt's creation.

    Which partition is "today" depends on it: a run queued or retried past midnight is
    still the run that was asked for on the day before.
    """
    tag = context.run.tags.get(REQUESTED_AT_TAG)
    if tag:
        with contextlib.suppress(ValueError):
            return aware(tag)
    record = context.instance.get_run_record_by_id(context.run.root_run_id or context.run.run_id)
    created = record.create_timestamp if record is not None else None
    return aware(created) if created is not None else None


def plan_for(context: dg.AssetExecutionContext, settings: Settings, full_refresh: bool) -> RunPlan:
    """The plan of an asset run: its partition or range (a single-run backfill), if any."""
    partitioned = context.has_partition_key or context.has_partition_key_range
    time_window = context.partition_time_window if partitioned else None
    now = dt.datetime.now(dt.UTC)
    return plan_run(settings, time_window, now, full_refresh, as_of=requested_at(context))
