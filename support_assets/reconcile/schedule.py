"""`support_reconcile_schedule`: a module of its own, free of the assets it runs beside.

The refresh's partitions import the schedules; a schedule importing the assets would close
that circle.
"""

import dagster as dg

from support_assets.settings import Settings

JOB = "support_reconcile_job"


def build_reconcile_schedule(settings: Settings) -> dg.ScheduleDefinition:
    """`support_reconcile_schedule`: weekly by default, stopped until turned on."""
    return dg.ScheduleDefinition(
        name="support_reconcile_schedule",
        job_name=JOB,
        cron_schedule=settings.reconcile_cron,
        execution_timezone="UTC",
        default_status=(
            dg.DefaultScheduleStatus.RUNNING
            if settings.reconcile_schedule_running
            else dg.DefaultScheduleStatus.STOPPED
        ),
        description="Find deleted records and mark their rows (SUPPORT_DELETES).",
    )
