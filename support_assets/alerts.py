"""Alerts and their delivery: a Slack-compatible webhook, and always the sensor's own log.

An alert is one JSON POST: Slack's `text` (what a person reads) plus flat structured fields
(what a machine routes on), among them a stable `alert_id` a receiver can drop repeats by.
The sensors log every alert as well, so with no webhook configured the sensor's tick log in
the UI is the sink. Neither the webhook URL (a secret: whoever has it can post to the
channel) nor anything token-like in an alert ever reaches a log or a payload.

Never lost, never doubled: `send_in_order` sends a tick's alerts in event order, retrying
each with backoff inside the tick, and stops at the first the webhook still refuses. The
sensor's cursor (`AlertCursor`) then passes only what was delivered or needed no alert:

- `after`: every event up to this storage id is handled;
- `alerted`: the runs alerted lately, so a later event of a run already alerted is not
  alerted again (a run's two materializations may land on different ticks).

An alert goes out twice only if the sensor process dies between the POST and the end of its
tick; `alert_id` is stable, for receivers that drop repeats.
"""

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import requests
from pydantic import Field

from support_assets.source.redaction import redact
from support_assets.source.urls import is_loopback_host, url_problem

WEBHOOK_VARIABLE = "SUPPORT_ALERT_WEBHOOK_URL"
# Slack cuts a message at 40,000 characters; alerts are one paragraph, so stay far below.
MAX_TEXT = 3000
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# No new delivery starts after this; Dagster gives a sensor tick 60 s by default, and one
# delivery takes at most attempts x timeout + backoff (3 x 5 s + 3 s).
TICK_BUDGET_S = 30.0
# Runs alerted lately, kept in the cursor so a later event of the same run is not alerted.
REMEMBERED_RUNS = 100


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


@dataclasses.dataclass(frozen=True)
class Delivery:
    """How sending one alert went; `detail` never contains the webhook URL."""

    delivered: bool
    detail: str


class AlertSink(dg.ConfigurableResource):
    """Where alerts go: a Slack-compatible webhook, or only the sensor's log when unset."""

    webhook_url: str = Field(
        default="",
        description=(
            "Incoming-webhook URL (SUPPORT_ALERT_WEBHOOK_URL, a secret); empty: alerts go "
            "to the sensor's log and the UI only"
        ),
    )
    attempts: int = Field(default=3, description="POSTs per alert within one sensor tick")
    backoff_s: float = Field(
        default=1.0, description="Seconds before the second POST, doubling after each failure"
    )
    timeout_s: float = Field(default=5.0, description="Seconds each POST may take")

    @property
    def configured(self) -> bool:
        """Whether alerts are posted anywhere besides the sensor's log."""
        return bool(self.webhook_url.strip())

    def deliver(self, alert: Alert, log: logging.Logger) -> Delivery:
        """POST the alert, retrying with backoff; never raises, never logs the URL."""
        if not self.configured:
            return Delivery(True, "logged only (no webhook configured)")
        problem = _url_problem(self.webhook_url)
        if problem:
            log.error(problem)
            return Delivery(False, problem)
        attempts = max(1, self.attempts)
        attempt = 0
        while True:
            attempt += 1
            retryable, detail = self._post(alert)
            if not detail:
                return Delivery(True, "delivered to the webhook")
            last = attempt >= attempts or not retryable
            log.warning(
                f"Alert {alert.id}: webhook attempt {attempt} of {attempts} failed "
                f"({detail}){'' if last else '; retrying'}."
            )
            if last:
                return Delivery(False, f"{detail} after {attempt} attempt{'s' * (attempt > 1)}")
            time.sleep(self.backoff_s * 2 ** (attempt - 1))

    def _post(self, alert: Alert) -> tuple[bool, str]:
        """One POST: (worth retrying, what went wrong); an empty description is success."""
        url = self.webhook_url.strip()
        with requests.Session() as session:
            # Loopback (tests, a local relay) never goes through a proxy from the environment.
            session.trust_env = not is_loopback_host(urlsplit(url).hostname)
            try:
                response = session.post(
                    url, json=alert.payload(), timeout=self.timeout_s, allow_redirects=False
                )
            except requests.RequestException as exc:
                # The exception's text contains the URL, a secret: name only its type.
                return True, type(exc).__name__
        if 200 <= response.status_code < 300:
            return False, ""
        return response.status_code in RETRYABLE_STATUSES, f"HTTP {response.status_code}"


def _url_problem(url: str) -> str:
    """Why the webhook URL cannot be used, without quoting it; empty when it is fine."""
    return url_problem(url, WEBHOOK_VARIABLE, secret=True)


# --- Delivery in event order, behind a cursor ------------------------------------------


@dataclasses.dataclass(frozen=True)
class AlertCursor:
    """Where an alert sensor stands in the event log (see the module docstring)."""

    after: int | None = None
    alerted: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: str | None) -> "AlertCursor":
        """Read a cursor this module wrote; anything else starts afresh."""
        try:
            data = json.loads(raw or "{}")
            after = data.get("after")
            return cls(
                after=None if after is None else int(after),
                alerted=tuple(str(run_id) for run_id in data.get("alerted", ())),
            )
        except (ValueError, TypeError, AttributeError):
            return cls()

    def dumps(self) -> str:
        """The cursor as Dagster stores it."""
        return json.dumps({"after": self.after, "alerted": list(self.alerted)})


@dataclasses.dataclass(frozen=True)
class Pending:
    """The events of one run read this tick, and the alert they call for (None: no alert)."""

    run_id: str
    storage_ids: tuple[int, ...]
    alert: Alert | None


def anchored(
    cursor: AlertCursor, records: Sequence[dg.EventLogRecord], older: Callable[[], int]
) -> AlertCursor:
    """A first cursor: before the first event looked back at, or at the newest older one.

    From then on the cursor is a storage id, so no event is missed because the webhook was
    down for longer than the look-back.
    """
    after = min(r.storage_id for r in records) - 1 if records else older()
    return dataclasses.replace(cursor, after=after)


def send_in_order(
    context: dg.SensorEvaluationContext,
    sink: AlertSink,
    cursor: AlertCursor,
    pending: Sequence[Pending],
    quiet: str,
) -> dg.SensorResult:
    """Send the alerts in event order; the cursor passes only what is delivered or moot."""
    deadline = time.monotonic() + TICK_BUDGET_S
    alerted = list(cursor.alerted)
    handled: set[int] = set()
    sent: list[Alert] = []
    failure = ""
    for item in pending:
        if item.alert is None or item.run_id in alerted:
            handled.update(item.storage_ids)
            continue
        if time.monotonic() > deadline:
            break
        delivery = sink.deliver(item.alert, context.log)
        if not delivery.delivered:
            failure = delivery.detail
            context.log.error(
                f"Alert not delivered ({failure}); it is sent again on the next tick: "
                f"{item.alert.log_line()}"
            )
            break
        log = context.log.error if item.alert.severity == "error" else context.log.warning
        log(item.alert.log_line())
        handled.update(item.storage_ids)
        alerted.append(item.run_id)
        sent.append(item.alert)
    after = cursor.after
    for storage_id in sorted(i for item in pending for i in item.storage_ids):
        if storage_id not in handled:
            break
        after = storage_id
    waiting = sum(1 for p in pending if p.alert is not None and p.run_id not in alerted)
    new_cursor = AlertCursor(after=after, alerted=tuple(alerted[-REMEMBERED_RUNS:]))
    return dg.SensorResult(
        skip_reason=tick_summary(sink, sent, waiting, failure, quiet),
        cursor=new_cursor.dumps(),
    )


def tick_summary(
    sink: AlertSink, sent: Sequence[Alert], waiting: int, failure: str, quiet: str
) -> str:
    """What the tick did, for the tick history in the UI."""
    parts = []
    if sent:
        titles = "; ".join(f"{a.title} (run {a.fields.get('run_id', '')[:8]})" for a in sent)
        where = (
            "sent to the webhook"
            if sink.configured
            else f"logged; no webhook configured ({WEBHOOK_VARIABLE})"
        )
        parts.append(f"{len(sent)} alert{'s' * (len(sent) > 1)} {where}: {titles}.")
    if failure:
        waits = "1 alert waits" if waiting == 1 else f"{waiting} alerts wait"
        parts.append(f"Webhook delivery failed ({failure}); {waits} for the next tick.")
    return " ".join(parts) or quiet
