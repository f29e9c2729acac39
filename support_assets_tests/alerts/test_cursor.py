"""Never lost, never doubled: the cursor passes only alerts delivered, or not needed."""

import dagster as dg
import pytest

import support_assets.alerts.cursor as alert_cursor
from support_assets.alerts.cursor import AlertCursor
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.alerts.alert_fixtures import (
    FAILURE_SENSOR,
    HOOK_PATH,
    RETRY_SENSOR,
    Receiver,
    cursor_after,
    degraded,
    failing_run,
    fast_sink,
    rate_limited_run,
    started_support_run,
    tick,
)


def test_a_webhook_failing_then_recovering_gets_each_alert_exactly_once(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
) -> None:
    sink = fast_sink(receiver.url)
    first = failing_run(alert_settings, api_env, instance=instance)
    receiver.fail_next = 2  # recovers within the tick's three attempts

    delivered = tick(alert_settings, FAILURE_SENSOR, instance, None, sink)

    assert [a["run_id"] for a in receiver.accepted] == [first]
    assert len(receiver.bodies) == 3

    second = failing_run(alert_settings, api_env, instance=instance)
    receiver.fail_next = 4  # outlasts a tick's three attempts
    failed = tick(alert_settings, FAILURE_SENSOR, instance, delivered.cursor, sink)

    assert failed.cursor == delivered.cursor
    assert failed.skip_reason == (
        "Webhook delivery failed (HTTP 500 after 3 attempts); 1 alert waits for the next tick."
    )
    assert len(receiver.accepted) == 1 and len(receiver.bodies) == 6

    recovered = tick(alert_settings, FAILURE_SENSOR, instance, failed.cursor, sink)
    quiet = tick(alert_settings, FAILURE_SENSOR, instance, recovered.cursor, sink)

    assert [a["run_id"] for a in receiver.accepted] == [first, second]
    assert len(receiver.bodies) == 8  # one more 500, then the delivery
    assert quiet.skip_reason == "No new failed support run."


def test_a_webhook_that_is_down_loses_nothing_and_the_ticks_do_not_crash(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
    dead_webhook: str,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs = [failing_run(alert_settings, api_env, instance=instance) for _ in range(2)]

    down = tick(alert_settings, FAILURE_SENSOR, instance, None, fast_sink(dead_webhook))
    still_down = tick(
        alert_settings, FAILURE_SENSOR, instance, down.cursor, fast_sink(dead_webhook)
    )

    assert still_down.cursor == down.cursor
    assert still_down.skip_reason == (
        "Webhook delivery failed (ConnectionError after 3 attempts); 2 alerts wait for the "
        "next tick."
    )
    assert receiver.bodies == []
    # Long after the first tick's look-back, the cursor still holds both failures.
    monkeypatch.setattr(alert_cursor, "FIRST_TICK_LOOKBACK_S", 0.0)
    back = tick(
        alert_settings, FAILURE_SENSOR, instance, still_down.cursor, fast_sink(receiver.url)
    )
    after = tick(alert_settings, FAILURE_SENSOR, instance, back.cursor, fast_sink(receiver.url))

    assert [a["run_id"] for a in receiver.accepted] == runs
    assert len(receiver.bodies) == 2
    assert after.skip_reason == "No new failed support run."
    # The webhook's URL is a secret: its path appears in no log line and no tick.
    logged = "".join(capfd.readouterr())
    assert HOOK_PATH not in logged + down.skip_reason + back.skip_reason
    assert "webhook attempt 3 of 3 failed (ConnectionError)" in logged


def test_a_new_sensor_skips_failures_older_than_its_look_back_and_misses_none_after(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failing_run(alert_settings, api_env, instance=instance)
    monkeypatch.setattr(alert_cursor, "FIRST_TICK_LOOKBACK_S", 0.0)  # that failure is history

    first = tick(alert_settings, FAILURE_SENSOR, instance, None, fast_sink(receiver.url))
    new = failing_run(alert_settings, api_env, instance=instance)
    second = tick(alert_settings, FAILURE_SENSOR, instance, first.cursor, fast_sink(receiver.url))

    assert first.skip_reason == "No new failed support run."
    assert AlertCursor.parse(first.cursor).after is not None
    assert [a["run_id"] for a in receiver.accepted] == [new]
    assert second.skip_reason.startswith("1 alert sent to the webhook: ")


def test_a_run_failed_twice_is_alerted_once_across_ticks(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
) -> None:
    # A dead worker's run, failed by the code server, then again by run monitoring's forced
    # failure (two RUN_FAILURE events of one run, on different ticks).
    run = started_support_run(alert_settings, instance)
    instance.report_run_failed(run)
    first = tick(alert_settings, FAILURE_SENSOR, instance, None, fast_sink(receiver.url))
    instance.report_run_failed(run, "This job is being forcibly marked as failed.")
    second = tick(alert_settings, FAILURE_SENSOR, instance, first.cursor, fast_sink(receiver.url))

    assert [a["run_id"] for a in receiver.accepted] == [run.run_id]
    assert len(receiver.bodies) == 1
    assert second.skip_reason == "No new failed support run."
    assert cursor_after(second) > cursor_after(first)


def test_a_run_alerted_before_its_end_event_is_not_alerted_again(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
) -> None:
    # The cursor of the earlier sensor, which read materializations: it alerted the run at
    # its materializations, before the run's end event.
    settings = degraded(alert_settings)
    run_id = rate_limited_run(settings, api_env, instance=instance)
    (last,) = instance.fetch_materializations(dg.AssetKey("ticket_comments"), limit=1).records
    assert last.run_id == run_id
    last_load = last.storage_id
    earlier = AlertCursor(after=last_load, alerted=(run_id,)).dumps()

    done = tick(settings, RETRY_SENSOR, instance, earlier, fast_sink(receiver.url))

    assert receiver.bodies == []
    assert done.skip_reason == "No support load above the thresholds."
    assert cursor_after(done) > last_load
