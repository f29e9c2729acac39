"""Sensors for on-call: the Support API degrading, and support runs failing or retrying.

Both are plain sensors reading the instance's event log with their own cursor, not
`@run_failure_sensor`: a run-status sensor moves its cursor even when its handler raises, so
a webhook outage would lose alerts. Here the cursor only passes events whose alert was
delivered, or that needed none (`send_in_order` in the alerts module): one alert per failed
run, one per degraded run, whatever the ticks do.
"""

import dataclasses
import datetime as dt
import time
from collections.abc import Iterable, Mapping, Sequence

import dagster as dg

from support_assets.alerts import (
    Alert,
    AlertCursor,
    AlertSink,
    Pending,
    anchored,
    send_in_order,
    slack_escape,
)
from support_assets.jobs import build_jobs
from support_assets.settings import Settings

# Events read per query and tick; what is left is read on the next tick.
BATCH = 50
# A sensor without a cursor (just deployed, or reset) alerts on the last hour only.
FIRST_TICK_LOOKBACK_S = 3600.0
MAX_CAUSE = 300
# The degraded-API sensor reads one of these per finished run.
RUN_END_EVENTS = (
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELED,
)
# How a failure reads when the run's own code raised nothing.
OUTSIDE_CAUSE = "run worker died or was failed by run monitoring"

# Dagster's run-retry and partition tags.
MAX_RETRIES_TAG = "dagster/max_retries"
RETRY_NUMBER_TAG = "dagster/retry_number"
WILL_RETRY_TAG = "dagster/will_retry"
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


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
        since = _first_tick_since(cursor)
        # One event per finished run, not one per materialization: a backfill writes one
        # materialization per partition, and reading those in batches delayed the alerts
        # of the runs behind it by many ticks.
        records = _run_ends(context.instance, cursor.after, since)
        if since is not None:
            cursor = anchored(cursor, records, lambda: _newest_run_end(context.instance, since))
        pending = []
        for record in records:
            loads = _run_materializations(context.instance, record.run_id, scope.asset_keys)
            alert = None
            if loads:
                run = context.instance.get_run_by_id(record.run_id)
                alert = degraded_alert(loads, run, settings, scope)
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
        since = _first_tick_since(cursor)
        records = context.instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(
                event_type=dg.DagsterEventType.RUN_FAILURE,
                after_storage_id=cursor.after,
                after_timestamp=since,
            ),
            limit=BATCH,
            ascending=True,
        ).records
        if since is not None:
            cursor = anchored(cursor, records, lambda: _newest_failure(context.instance, since))
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


# --- The degraded-API alert ---------------------------------------------------------------


def degraded_alert(
    records: Sequence[dg.EventLogRecord],
    run: dg.DagsterRun | None,
    settings: Settings,
    scope: Scope,
) -> Alert | None:
    """One alert for a run's materializations when its HTTP numbers cross a threshold."""
    numbers = [_numbers(r) for r in records]
    numbers = [n for n in numbers if "retries" in n]
    if not numbers:  # not written by our asset body (e.g. reported by hand): nothing to judge
        return None
    # The HTTP numbers are the run's, the same on each asset it materialized.
    worst = max(numbers, key=lambda n: (n["retries"], n.get("retry_after_wait_s", 0.0)))
    retries = int(worst["retries"])
    waited = float(worst.get("retry_after_wait_s", 0.0))
    reasons = []
    if retries > settings.alert_retry_threshold:
        reasons.append(f"{retries} retries (threshold {settings.alert_retry_threshold})")
    if waited > settings.alert_rate_limit_wait_threshold:
        reasons.append(
            f"{waited:.1f} s waited on Retry-After "
            f"(threshold {settings.alert_rate_limit_wait_threshold:g} s)"
        )
    if not reasons:
        return None
    run_id = records[0].run_id
    assets = sorted({r.asset_key.to_user_string() for r in records if r.asset_key})
    partition = _partition_label(run, [r.partition_key for r in records])
    by_status = {k.removeprefix("retries_"): int(v) for k, v in worst.items() if _status_key(k)}
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(by_status.items()))
    rate_limited = int(worst.get("rate_limited_429", 0))
    requests_made = int(worst.get("http_requests", 0))
    duration = float(worst.get("duration_s", 0.0))
    title = "Support API degraded"
    summary = (
        f"{' and '.join(reasons)} in run {run_id[:8]} ({', '.join(assets)}, partition "
        f"{partition}): {retries} retries{f' ({statuses})' if statuses else ''}, "
        f"{rate_limited} rate-limited responses, {waited:.1f} s waited on Retry-After, "
        f"{requests_made} HTTP requests in {duration:.1f} s"
    )
    url = scope.run_url(run_id)
    text = (
        f":warning: *{title}*: {slack_escape(' and '.join(reasons))}\n"
        f"{slack_escape(', '.join(assets))} · partition {slack_escape(partition)} · "
        f"<{url}|run {run_id[:8]}>\n"
        f"{retries} retries{slack_escape(f' ({statuses})' if statuses else '')}, "
        f"{rate_limited} rate-limited (429), {waited:.1f} s waited on Retry-After, "
        f"{requests_made} HTTP requests in {duration:.1f} s"
    )
    return Alert(
        id=f"support_api_degraded:{run_id}",
        kind="api_degraded",
        severity="warning",
        title=title,
        text=text,
        fields={
            "summary": summary,
            "run_id": run_id,
            "run_url": url,
            "job": run.job_name if run else None,
            "assets": assets,
            "partition": partition,
            "retries": retries,
            "retries_by_status": by_status,
            "rate_limited_429": rate_limited,
            "retry_after_wait_s": waited,
            "http_requests": requests_made,
            "duration_s": duration,
            "token_recoveries": int(worst.get("token_recoveries", 0)),
            "thresholds": {
                "retries": settings.alert_retry_threshold,
                "retry_after_wait_s": settings.alert_rate_limit_wait_threshold,
            },
            "reasons": reasons,
            "occurred_at": _iso(max(r.timestamp for r in records)),
        },
    )


def _numbers(record: dg.EventLogRecord) -> dict[str, float]:
    """The numeric metadata of a materialization."""
    materialization = record.asset_materialization
    metadata = materialization.metadata if materialization else {}
    numbers: dict[str, float] = {}
    for key, value in metadata.items():
        raw = getattr(value, "value", value)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            numbers[key] = raw
    return numbers


def _status_key(key: str) -> bool:
    """`retries_503`, `retries_ConnectionError`: the per-cause retry counts."""
    return key.startswith("retries_")


def _run_ends(
    instance: dg.DagsterInstance, after: int | None, since: float | None
) -> list[dg.EventLogRecord]:
    """Runs that ended after the cursor (succeeded, failed or canceled), in event order."""
    batches = [
        instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(
                event_type=event_type, after_storage_id=after, after_timestamp=since
            ),
            limit=BATCH,
            ascending=True,
        ).records
        for event_type in RUN_END_EVENTS
    ]
    # A full batch may have more behind it: read nothing past its end this tick, or an
    # event of that type could fall behind the cursor unread.
    horizon = min((b[-1].storage_id for b in batches if len(b) >= BATCH), default=None)
    records = [r for b in batches for r in b if horizon is None or r.storage_id <= horizon]
    return sorted(records, key=lambda r: r.storage_id)


def _run_materializations(
    instance: dg.DagsterInstance, run_id: str, keys: Sequence[dg.AssetKey]
) -> list[dg.EventLogRecord]:
    """The run's materializations of our assets: one query, however many partitions."""
    ours = set(keys)
    return [
        record
        for record in instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        if record.asset_key in ours
    ]


# --- The run-failure alert ----------------------------------------------------------------


def failure_alert(
    record: dg.EventLogRecord,
    run: dg.DagsterRun | None,
    instance: dg.DagsterInstance,
    scope: Scope,
    cause: str | None = None,
) -> Alert:
    """The alert for one failed run: retrying and given-up failures read differently."""
    tags: Mapping[str, str] = run.tags if run else {}
    retry_number = _int(tags.get(RETRY_NUMBER_TAG), 0)
    attempt = retry_number + 1
    retries_on = instance.run_retries_enabled
    default_max = instance.run_retries_max_retries if retries_on else 0
    max_retries = _int(tags.get(MAX_RETRIES_TAG), default_max)
    will_retry_tag = tags.get(WILL_RETRY_TAG)
    if will_retry_tag is not None:
        # Dagster's own decision, made when the run failed; its daemon acts on it.
        will_retry = will_retry_tag.strip().lower() == "true"
    else:
        # Not decided yet (or retries are off): the same rule from the tags.
        will_retry = retries_on and retry_number < max_retries
    max_attempts = max(max_retries + 1, attempt)
    run_id = record.run_id
    job = run.job_name if run else "?"
    partition = _partition_label(run, [])
    event = record.event_log_entry.dagster_event
    if cause is None:
        crash = None
        if event is not None and event.event_specific_data is None:
            crash = crash_explanation(instance, record.run_id)
        cause = failure_cause(event, crash)
    if will_retry:
        kind, severity, emoji = "run_retrying", "warning", ":repeat:"
        title = f"Support run failed, Dagster will retry it (attempt {attempt} of {max_attempts})"
    else:
        kind, severity, emoji = "run_failed", "error", ":rotating_light:"
        title = f"Support run failed: gave up after {attempt} attempt{'s' * (attempt > 1)}"
        if max_retries > 0 and not retries_on and will_retry_tag is None:
            title += " (run retries are off on this Dagster instance)"
    url = scope.run_url(run_id)
    summary = f"{job}, partition {partition}, run {run_id[:8]}: {cause}"
    text = (
        f"{emoji} *{slack_escape(title)}*\n"
        f"{slack_escape(job)} · partition {slack_escape(partition)} · "
        f"<{url}|run {run_id[:8]}>\n"
        f"Cause: {slack_escape(cause)}"
    )
    return Alert(
        id=f"support_run_failure:{run_id}",
        kind=kind,
        severity=severity,
        title=title,
        text=text,
        fields={
            "summary": summary,
            "run_id": run_id,
            "run_url": url,
            "job": job,
            "partition": partition,
            "attempt": attempt,
            "max_attempts": max_attempts,
            "retry_number": retry_number,
            "will_retry": will_retry,
            "cause": cause,
            "occurred_at": _iso(record.timestamp),
        },
    )


def failure_cause(event: dg.DagsterEvent | None, crash: str | None = None) -> str:
    """The innermost error of a run failure, its first line, without the class path.

    A run failed from outside its worker (the worker was killed, or run monitoring gave up
    on it) has no error and often no failure data at all: it reads as such, with the most
    telling message there is (the worker's crash explanation, else the event's own).
    """
    error = None
    data = None
    if event is not None and event.event_type == dg.DagsterEventType.RUN_FAILURE:
        # `job_failure_data` raises when the event has none: read it as optional.
        data = event.event_specific_data
        if data is not None:
            error = getattr(data, "error", None)
            step = getattr(data, "first_step_failure_event", None)
            if error is None and step is not None and step.step_failure_data is not None:
                error = step.step_failure_data.error
    if error is None:
        message = crash or (event.message if event else None) or "the run failed; see its logs"
        if event is not None and (data is None or _failed_outside(data)):
            return _one_line(f"{OUTSIDE_CAUSE}: {message}")
        return _one_line(message)
    while error.cause is not None:
        error = error.cause
    message = error.message
    head, sep, rest = message.partition(": ")
    if sep and head.rsplit(".", 1)[-1] == error.cls_name:
        message = rest  # `support_assets.http.SupportApiError: HTTP 503 ...` -> `HTTP 503 ...`
    return _one_line(message) or error.cls_name or "unknown error"


def _failed_outside(data: object) -> bool:
    """Failure data that Dagster's monitoring wrote, not the run's own code."""
    reason = getattr(data, "failure_reason", None)
    return getattr(reason, "value", None) in {
        "UNEXPECTED_TERMINATION",
        "START_TIMEOUT",
        "RUN_WORKER_RESTART",
        "UNKNOWN",
    }


def crash_explanation(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """Why the run's worker process ended, as the code server logged it, if it did.

    The code server logs "Run execution process for <id> was terminated by signal 9
    (SIGKILL)" just before it fails the run with a generic message.
    """
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=5, ascending=False
    ).records
    for record in records:
        # The code server prefixes its own name: `[DagsterApiServer] Run execution ...`.
        message = (record.event_log_entry.message or "").partition("Run execution process")
        if message[1]:
            return message[1] + message[2]
    return None


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
    try:
        return failure_alert(record, run, context.instance, scope)
    except Exception as exc:
        context.log.warning(
            f"Run {record.run_id[:8]}: its failure could not be read ({type(exc).__name__}); "
            "alerting without the cause."
        )
        cause = f"the failure could not be read ({type(exc).__name__}); see the run's logs"
        return failure_alert(record, run, context.instance, scope, cause=cause)


def _one_line(message: str) -> str:
    line = next((line.strip() for line in message.splitlines() if line.strip()), "")
    return line if len(line) <= MAX_CAUSE else line[: MAX_CAUSE - 1] + "…"


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


# --- Small helpers ------------------------------------------------------------------------


def _first_tick_since(cursor: AlertCursor) -> float | None:
    """Without a cursor, a sensor looks back this far (a Unix time); with one, not at all."""
    return time.time() - FIRST_TICK_LOOKBACK_S if cursor.after is None else None


def _newest_failure(instance: dg.DagsterInstance, before: float) -> int:
    records = instance.fetch_run_status_changes(
        dg.RunStatusChangeRecordsFilter(
            event_type=dg.DagsterEventType.RUN_FAILURE, before_timestamp=before
        ),
        limit=1,
    ).records
    return records[0].storage_id if records else 0


def _newest_run_end(instance: dg.DagsterInstance, before: float) -> int:
    return max(
        (
            record.storage_id
            for event_type in RUN_END_EVENTS
            for record in instance.fetch_run_status_changes(
                dg.RunStatusChangeRecordsFilter(event_type=event_type, before_timestamp=before),
                limit=1,
            ).records
        ),
        default=0,
    )


def _partition_label(run: dg.DagsterRun | None, keys: Iterable[str | None]) -> str:
    """`2026-11-28`, `2026-10-01...2026-11-09`, or `none` for an unpartitioned run."""
    tags: Mapping[str, str] = run.tags if run else {}
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        return f"{tags[RANGE_START_TAG]}...{tags[RANGE_END_TAG]}"
    if PARTITION_TAG in tags:
        return tags[PARTITION_TAG]
    found = sorted({key for key in keys if key})
    if not found:
        return "none"
    return found[0] if len(found) == 1 else f"{found[0]}...{found[-1]} ({len(found)} partitions)"


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")
