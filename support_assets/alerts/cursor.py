"""Never lost, never doubled: alerts sent in event order, behind the sensor's own cursor.

`send_in_order` sends a tick's alerts in event order, retrying each with backoff inside the
tick, and stops at the first the webhook still refuses. The sensor's cursor (`AlertCursor`)
then passes only what was delivered or needed no alert:

- `after`: every event up to this storage id is handled;
- `alerted`: the runs alerted lately, so a later event of a run already alerted is not
  alerted again (a run's two materializations may land on different ticks).

An alert goes out twice only if the sensor process dies between the POST and the end of its
tick; `alert_id` is stable, for receivers that drop repeats.
"""

import dataclasses
import json
import time
from collections.abc import Callable, Sequence

import dagster as dg

from support_assets.alerts.messages import Alert
from support_assets.alerts.sink import WEBHOOK_VARIABLE, AlertSink

# No new delivery starts after this; Dagster gives a sensor tick 60 s by default, and one
# delivery takes at most attempts x timeout + backoff (3 x 5 s + 3 s).
TICK_BUDGET_S = 30.0
# Runs alerted lately, kept in the cursor so a later event of the same run is not alerted.
REMEMBERED_RUNS = 100
# A sensor without a cursor (just deployed, or reset) alerts on the last hour only.
FIRST_TICK_LOOKBACK_S = 3600.0


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


def first_tick_since(cursor: AlertCursor) -> float | None:
    """Without a cursor, a sensor looks back this far (a Unix time); with one, not at all."""
    return time.time() - FIRST_TICK_LOOKBACK_S if cursor.after is None else None


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
