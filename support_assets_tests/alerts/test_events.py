"""Reading the event log: one event per finished run, and nothing skipped past a full batch."""

import datetime as dt

import dagster as dg
import pytest

import support_assets.alerts.events as events
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.alerts.alert_fixtures import (
    RETRY_SENSOR,
    Receiver,
    degraded,
    failing_run,
    fast_sink,
    rate_limited_run,
    tick,
)
from support_assets_tests.helpers import materialize, today


def test_a_degraded_run_after_a_large_backfill_alerts_at_the_next_tick(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
) -> None:
    settings = degraded(alert_settings)
    start = tick(settings, RETRY_SENSOR, instance, None, fast_sink(receiver.url))
    # A single-run backfill of 60 days writes 120 materializations (one per partition and
    # asset), more than the sensor's batch; the degraded run ends after it.
    last = dt.date.fromisoformat(today()) - dt.timedelta(days=1)
    first = last - dt.timedelta(days=59)
    backfill = materialize(settings, instance=instance, partition_range=(str(first), str(last)))
    assert backfill.success
    assert len(backfill.get_asset_materialization_events()) == 120
    run_id = rate_limited_run(settings, api_env, instance=instance)

    after = tick(settings, RETRY_SENSOR, instance, start.cursor, fast_sink(receiver.url))
    quiet = tick(settings, RETRY_SENSOR, instance, after.cursor, fast_sink(receiver.url))

    assert [a["run_id"] for a in receiver.accepted] == [run_id]
    assert receiver.accepted[0]["assets"] == ["support_tickets", "ticket_comments"]
    assert after.skip_reason.startswith("1 alert sent to the webhook: Support API degraded")
    assert quiet.skip_reason == "No support load above the thresholds."


def test_runs_ending_in_different_ways_are_all_read_when_a_batch_is_full(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = degraded(alert_settings)
    monkeypatch.setattr(events, "BATCH", 1)
    start = tick(settings, RETRY_SENSOR, instance, None, fast_sink(receiver.url))
    # Two successes then a failure: with one event per query and type, the first tick sees
    # the first success and the failure, and must not move past the second success.
    runs = [rate_limited_run(settings, api_env, instance=instance) for _ in range(2)]
    failing_run(settings, api_env, instance=instance)

    ticks = [start]
    for _ in range(4):
        ticks.append(
            tick(settings, RETRY_SENSOR, instance, ticks[-1].cursor, fast_sink(receiver.url))
        )

    assert [a["run_id"] for a in receiver.accepted] == runs
    assert ticks[-1].skip_reason == "No support load above the thresholds."
