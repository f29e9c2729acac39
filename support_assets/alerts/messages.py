"""What an alert says: the degraded-API alert and the run-failure alert, and their shape.

An alert is one JSON POST: Slack's `text` (what a person reads) plus flat structured fields
(what a machine routes on), among them a stable `alert_id` a receiver can drop repeats by.
Nothing token-like in an alert ever reaches a payload or a log line: both are redacted.
"""

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dagster as dg

from support_assets.alerts.events import crash_explanation
from support_assets.settings import Settings
from support_assets.source.redaction import redact
from support_assets.source.telemetry import (
    DURATION_S,
    HTTP_REQUESTS,
    RATE_LIMITED,
    RETRIES,
    RETRY_AFTER_WAIT_S,
    TOKEN_RECOVERIES,
    retries_by_cause,
)

# Slack cuts a message at 40,000 characters; alerts are one paragraph, so stay far below.
MAX_TEXT = 3000
MAX_CAUSE = 300
# How a failure reads when the run's own code raised nothing.
OUTSIDE_CAUSE = "run worker died or was failed by run monitoring"

# Dagster's run-retry and partition tags.
MAX_RETRIES_TAG = "dagster/max_retries"
RETRY_NUMBER_TAG = "dagster/retry_number"
WILL_RETRY_TAG = "dagster/will_retry"
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def slack_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclasses.dataclass(frozen=True)
class Alert:
    """One alert: a stable id, a title, a sentence for people, and fields for machines."""

    # Stable for the event it reports (a run, a run's load): a receiver may drop repeats.
    id: str
    kind: str
    severity: str
    title: str
    # Slack mrkdwn: the title in bold, links as <url|label>.
    text: str
    fields: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The JSON body: Slack's `text` plus the structured fields, secrets redacted."""
        text = self.text if len(self.text) <= MAX_TEXT else self.text[: MAX_TEXT - 1] + "…"
        return redact(
            {
                "text": text,
                "alert_id": self.id,
                "kind": self.kind,
                "severity": self.severity,
                "title": self.title,
                **self.fields,
            }
        )

    def log_line(self) -> str:
        """The alert as one log line (no Slack markup)."""
        return redact(f"[{self.severity}] {self.title}: {self.fields.get('summary', '')}")


# --- The degraded-API alert ---------------------------------------------------------------


def degraded_alert(
    records: Sequence[dg.EventLogRecord],
    run: dg.DagsterRun | None,
    settings: Settings,
    run_url: str,
) -> Alert | None:
    """One alert for a run's materializations when its HTTP numbers cross a threshold."""
    numbers = [_numbers(r) for r in records]
    numbers = [n for n in numbers if RETRIES in n]
    if not numbers:  # not written by our asset body (e.g. reported by hand): nothing to judge
        return None
    # The HTTP numbers are the run's, the same on each asset it materialized.
    worst = max(numbers, key=lambda n: (n[RETRIES], n.get(RETRY_AFTER_WAIT_S, 0.0)))
    retries = int(worst[RETRIES])
    waited = float(worst.get(RETRY_AFTER_WAIT_S, 0.0))
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
    by_status = {cause: int(n) for cause, n in retries_by_cause(worst).items()}
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(by_status.items()))
    rate_limited = int(worst.get(RATE_LIMITED, 0))
    requests_made = int(worst.get(HTTP_REQUESTS, 0))
    duration = float(worst.get(DURATION_S, 0.0))
    title = "Support API degraded"
    summary = (
        f"{' and '.join(reasons)} in run {run_id[:8]} ({', '.join(assets)}, partition "
        f"{partition}): {retries} retries{f' ({statuses})' if statuses else ''}, "
        f"{rate_limited} rate-limited responses, {waited:.1f} s waited on Retry-After, "
        f"{requests_made} HTTP requests in {duration:.1f} s"
    )
    text = (
        f":warning: *{title}*: {slack_escape(' and '.join(reasons))}\n"
        f"{slack_escape(', '.join(assets))} · partition {slack_escape(partition)} · "
        f"<{run_url}|run {run_id[:8]}>\n"
        f"{retries} retries{slack_escape(f' ({statuses})' if statuses else '')}, "
        f"{rate_limited} rate-limited (429), {waited:.1f} s waited on Retry-After, "
        f"{requests_made} HTTP requests in {duration:.1f} s"
    )
    # The payload's field names are the alert's own contract with its receivers; they
    # happen to match the metadata keys they are read from.
    return Alert(
        id=f"support_api_degraded:{run_id}",
        kind="api_degraded",
        severity="warning",
        title=title,
        text=text,
        fields={
            "summary": summary,
            "run_id": run_id,
            "run_url": run_url,
            "job": run.job_name if run else None,
            "assets": assets,
            "partition": partition,
            "retries": retries,
            "retries_by_status": by_status,
            "rate_limited_429": rate_limited,
            "retry_after_wait_s": waited,
            "http_requests": requests_made,
            "duration_s": duration,
            "token_recoveries": int(worst.get(TOKEN_RECOVERIES, 0)),
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


# --- The run-failure alert ----------------------------------------------------------------


def failure_alert(
    record: dg.EventLogRecord,
    run: dg.DagsterRun | None,
    instance: dg.DagsterInstance,
    run_url: str,
    cause: str | None = None,
) -> Alert:
    """The alert for one failed run: retrying and given-up failures read differently.

    `cause`, when given, replaces the one read from the run's events (which may not read).
    """
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
    summary = f"{job}, partition {partition}, run {run_id[:8]}: {cause}"
    text = (
        f"{emoji} *{slack_escape(title)}*\n"
        f"{slack_escape(job)} · partition {slack_escape(partition)} · "
        f"<{run_url}|run {run_id[:8]}>\n"
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
            "run_url": run_url,
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
        # `support_assets.source.errors.SupportApiError: HTTP 503 ...` -> `HTTP 503 ...`
        message = rest
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


# --- Small helpers ------------------------------------------------------------------------


def _one_line(message: str) -> str:
    line = next((line.strip() for line in message.splitlines() if line.strip()), "")
    return line if len(line) <= MAX_CAUSE else line[: MAX_CAUSE - 1] + "…"


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
