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

import dataclasses
import datetime as dt
from collections.abc import Collection

import dagster as dg

from support_assets.settings import Settings
from support_assets.source import LoadWindow


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """One partition per UTC day from `SUPPORT_START_DATE`, today's open one included."""
    return dg.DailyPartitionsDefinition(
        start_date=settings.start_date.isoformat(), timezone="UTC", end_offset=1
    )


def start_of(settings: Settings) -> dt.datetime:
    """`SUPPORT_START_DATE` at 00:00 UTC: where history begins."""
    return dt.datetime.combine(settings.start_date, dt.time(), tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """What a run reads, and why, for the run log and the metadata."""

    window: LoadWindow
    incremental: bool
    description: str
    # A backfill whose range includes the latest partition: it reads up to the run's start.
    reaches_now: bool = False


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
    start_of_run = now.astimezone(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
    if full_refresh:
        window = LoadWindow(start=start_of(settings))
        return RunPlan(window, True, f"full refresh of {_range(window)}")
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
