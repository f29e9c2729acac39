"""Sensors for on-call: the Support API degrading, and support runs failing or retrying.

Both are plain sensors reading the instance's event log with their own cursor, not
`@run_failure_sensor`: a run-status sensor moves its cursor even when its handler raises, so
a webhook outage would lose alerts. Here the cursor only passes events whose alert was
delivered, or that needed none (`send_in_order`): one alert per failed run, one per degraded
run, whatever the ticks do.
"""

import dataclasses

import dagster as dg

from support_assets.alerts.cursor import (
    AlertCursor,
    Pending,
    anchored,
    first_tick_since,
    send_in_order,
)
from support_assets.alerts.events import (
    newest_failure,
    newest_run_end,
    run_ends,
    run_failures,
    run_materializations,
)
from support_assets.alerts.messages import Alert, degraded_alert, failure_alert
from support_assets.alerts.sink import AlertSink
from support_assets.jobs import build_jobs
from support_assets.settings import Settings


@dataclasses.dataclass(frozen=True)
class Scope:
    """What counts as ours: the support jobs, asset keys and op, and where the UI is."""

    job_names: frozenset[str]
    asset_keys: tuple[dg.AssetKey, ...]
    op_name: str
    ui_base_url: str

    def run_url(self, run_id: str) -> str:
        """The run's page in the Dagster UI."""
        return f"{self.ui_base_url}/runs/{run_id}"


def build_sensors(settings: Settings, assets: dg.AssetsDefinition) -> list[dg.SensorDefinition]:
    """`support_retry_alert_sensor` and `support_run_failure_sensor`, sending to `alert_sink`."""
    scope = Scope(
        job_names=frozenset(job.name for job in build_jobs(settings)),
        asset_keys=tuple(sorted(assets.keys, key=lambda key: key.to_user_string())),
        op_name=assets.op.name,
        ui_base_url=settings.ui_base_url.rstrip("/"),
    )

    @dg.sensor(
        name="support_retry_alert_sensor",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Alert 'Support API degraded' when a load needed more retries, or waited longer "
            "on Retry-After, than SUPPORT_ALERT_RETRY_THRESHOLD / "
            "SUPPORT_ALERT_RATE_LIMIT_WAIT_THRESHOLD."
        ),
    )
    def support_retry_alert_sensor(
        context: dg.SensorEvaluationContext, alert_sink: AlertSink
    ) -> dg.SensorResult:
        """Alert "Support API degraded" when a load needed too many retries or rate-limit waits."""
        cursor = AlertCursor.parse(context.cursor)
        since = first_tick_since(cursor)
        # One event per finished run, not one per materialization: a backfill writes one
        # materialization per partition, and reading those in batches delayed the alerts
        # of the runs behind it by many ticks.
        records = run_ends(context.instance, cursor.after, since)
        if since is not None:
            cursor = anchored(cursor, records, lambda: newest_run_end(context.instance, since))
        pending = []
        for record in records:
            loads = run_materializations(context.instance, record.run_id, scope.asset_keys)
            alert = None
            if loads:
                run = context.instance.get_run_by_id(record.run_id)
                alert = degraded_alert(loads, run, settings, scope.run_url(record.run_id))
            pending.append(Pending(record.run_id, (record.storage_id,), alert))
        return send_in_order(
            context, alert_sink, cursor, pending, quiet="No support load above the thresholds."
        )

    @dg.sensor(
        name="support_run_failure_sensor",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Alert on each failed support run: the cause in one line, the partition, a link, "
            "the attempt, and whether Dagster retries it or gave up."
        ),
    )
    def support_run_failure_sensor(
        context: dg.SensorEvaluationContext, alert_sink: AlertSink
    ) -> dg.SensorResult:
        """Alert on each failed support run: cause, partition, link, retrying or given up."""
        cursor = AlertCursor.parse(context.cursor)
        since = first_tick_since(cursor)
        records = run_failures(context.instance, cursor.after, since)
        if since is not None:
            cursor = anchored(cursor, records, lambda: newest_failure(context.instance, since))
        pending = []
        for record in records:
            run = context.instance.get_run_by_id(record.run_id)
            event = record.event_log_entry.dagster_event
            ours = run is not None and _is_support_run(run, event, scope)
            alert = _failure_alert_or_fallback(context, record, run, scope) if ours else None
            pending.append(Pending(record.run_id, (record.storage_id,), alert))
        return send_in_order(
            context, alert_sink, cursor, pending, quiet="No new failed support run."
        )

    return [support_retry_alert_sensor, support_run_failure_sensor]


def _is_support_run(run: dg.DagsterRun, event: dg.DagsterEvent | None, scope: Scope) -> bool:
    """A run of our jobs, or of any job materializing our assets (the UI's button too)."""
    if run.job_name in scope.job_names:
        return True
    if run.asset_selection and set(run.asset_selection) & set(scope.asset_keys):
        return True
    # An ad hoc asset job (`dg.materialize`, older UI paths) names no selection: the step
    # that failed tells.
    if event is None or event.event_type != dg.DagsterEventType.RUN_FAILURE:
        return False
    # A run failed from outside its worker has no failure data.
    step = getattr(event.event_specific_data, "first_step_failure_event", None)
    return step is not None and step.step_key == scope.op_name


def _failure_alert_or_fallback(
    context: dg.SensorEvaluationContext,
    record: dg.EventLogRecord,
    run: dg.DagsterRun | None,
    scope: Scope,
) -> Alert:
    """The run's alert; when its events cannot be read, an alert that says so.

    One unreadable event must never stall the cursor: every later failure would go
    unreported.
    """
    url = scope.run_url(record.run_id)
    try:
        return failure_alert(record, run, context.instance, url)
    except Exception as exc:
        context.log.warning(
            f"Run {record.run_id[:8]}: its failure could not be read ({type(exc).__name__}); "
            "alerting without the cause."
        )
        cause = f"the failure could not be read ({type(exc).__name__}); see the run's logs"
        return failure_alert(record, run, context.instance, url, cause=cause)
