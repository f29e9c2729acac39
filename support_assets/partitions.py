"""Daily partitions on `updated_at` (UTC), and which records a run reads.

A partition is a window on `updated_at`, not a set of tickets: a ticket lives in the day of
its latest update, and moves to a later day when it is updated again. So:

- today's partition (the open one) is the incremental refresh: from the stored cursor to the
  moment the run starts, and the cursor moves;
- any other partition or range is exactly `[first day 00:00, day after the last 00:00)`,
  capped at the run's start, merged into the tables; the cursor does not move. Backfilling
  the whole range is a correct history load.
"""

import dataclasses
import datetime as dt

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


def plan_run(
    settings: Settings,
    time_window: dg.TimeWindow | None,
    now: dt.datetime,
    full_refresh: bool = False,
) -> RunPlan:
    """Turn the run's partition (or range) into a load window."""
    today = dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(), tzinfo=dt.UTC)
    start_of_run = now.astimezone(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
    if full_refresh:
        window = LoadWindow(start=start_of(settings))
        return RunPlan(window, True, f"full refresh of {_range(window)}")
    if time_window is None or time_window.start >= today:
        window = LoadWindow(start=start_of(settings))
        return RunPlan(window, True, "incremental refresh from the stored cursor")
    end = min(time_window.end, start_of_run)
    window = LoadWindow(start=time_window.start.astimezone(dt.UTC), end=end.astimezone(dt.UTC))
    return RunPlan(window, False, f"backfill of {_range(window)}; the cursor stays")


def _range(window: LoadWindow) -> str:
    end = window.end.isoformat() if window.end else "now"
    return f"updated_at in [{window.start.isoformat()}, {end})"
