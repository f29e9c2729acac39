"""Where alerts go: the webhook the environment names at tick time, or the sensor's log."""

import dataclasses

import dagster as dg
import pytest

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.alerts.alert_fixtures import FAILURE_SENSOR, Receiver, failing_run, tick


def test_without_a_webhook_alerts_go_to_the_sensor_log_and_the_cursor_moves(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    capfd: pytest.CaptureFixture[str],
) -> None:
    run_id = failing_run(alert_settings, api_env, instance=instance)

    # Wired as the code location wires it, with SUPPORT_ALERT_WEBHOOK_URL unset.
    logged = tick(alert_settings, FAILURE_SENSOR, instance, None)
    quiet = tick(alert_settings, FAILURE_SENSOR, instance, logged.cursor)

    assert logged.skip_reason == (
        "1 alert logged; no webhook configured (SUPPORT_ALERT_WEBHOOK_URL): Support run "
        f"failed: gave up after 1 attempt (run {run_id[:8]})."
    )
    log = "".join(capfd.readouterr())
    assert "[error] Support run failed: gave up after 1 attempt: " in log
    assert f"run {run_id[:8]}: HTTP 50" in log
    assert quiet.skip_reason == "No new failed support run."


def test_the_webhook_url_reaches_the_sink_from_the_environment_at_tick_time(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUPPORT_ALERT_WEBHOOK_URL", receiver.url)
    settings = dataclasses.replace(alert_settings, alert_webhook=Settings.from_env().alert_webhook)
    assert settings.alert_webhook
    run_id = failing_run(settings, api_env, instance=instance)

    delivered = tick(settings, FAILURE_SENSOR, instance, None)

    assert [a["run_id"] for a in receiver.accepted] == [run_id]
    assert delivered.skip_reason.startswith("1 alert sent to the webhook: ")
