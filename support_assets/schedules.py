"""The schedule that keeps the warehouse fresh."""

import datetime as dt

import dagster as dg

from support_assets.reconcile.schedule import build_reconcile_schedule
from support_assets.settings import Settings

# The tick's time on the runs the schedule asks for; Dagster copies it onto their retries,
# so a tick that runs (or is retried) after midnight still reads as the refresh it was.
REQUESTED_AT_TAG = "support/requested_at"


def build_schedules(settings: Settings) -> list[dg.ScheduleDefinition]:
    """`support_refresh_schedule` (today's partition) and `support_reconcile_schedule`."""

    @dg.schedule(
        name="support_refresh_schedule",
        job_name="support_refresh_job",
        cron_schedule=settings.refresh_cron,
        execution_timezone="UTC",
        default_status=(
            dg.DefaultScheduleStatus.RUNNING
            if settings.schedule_running
            else dg.DefaultScheduleStatus.STOPPED
        ),
        description="Incremental refresh of tickets and comments.",
    )
    def support_refresh_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        """Incremental refresh of tickets and comments (today's UTC partition)."""
        tick = context.scheduled_execution_time.astimezone(dt.UTC)
        return dg.RunRequest(
            partition_key=tick.date().isoformat(),
            tags={REQUESTED_AT_TAG: tick.isoformat()},
        )

    return [support_refresh_schedule, build_reconcile_schedule(settings)]
