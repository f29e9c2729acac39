"""Alert sensors over real runs: one alert per event, never lost, never doubled, no secrets.

Runs are real (`dg.materialize` / `dg.execute_job` against the sandbox with faults) in a real
Dagster instance; the sensors are evaluated through `dg.build_sensor_context`, and a webhook
receiver on loopback records every POST.
"""

import dataclasses
import datetime as dt
import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from support_assets import sensors
from support_assets.alerts import AlertCursor, AlertSink
from support_assets.definitions import build_definitions
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import CLIENT_SECRET, materialize, today, with_retry

UI = "https://dagster.example.com"
RETRY_SENSOR = "support_retry_alert_sensor"
FAILURE_SENSOR = "support_run_failure_sensor"
# The path of a Slack webhook is its secret: it must never show up in a log or tick.
HOOK_PATH = "/services/T000/B000/hook-path-secret-4e1d"


class Receiver:
    """A webhook on a free loopback port: answers 500 `fail_next` times, then 200."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []  # every POST received, accepted or not
        self.accepted: list[dict[str, Any]] = []
        self.fail_next = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.bodies.append(body)
                    failing = receiver.fail_next > 0
                    receiver.fail_next -= failing
                    if not failing:
                        receiver.accepted.append(json.loads(body))
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        # Listening from here on: a POST before the thread serves just waits in the backlog.
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{HOOK_PATH}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def dead_webhook() -> Iterator[str]:
    """A loopback URL that refuses connections: the port is bound but never listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}{HOOK_PATH}"


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A real instance without run retries, as `dagster dev` starts by default."""
    (tmp_path / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster_home")) as instance:
        yield instance


@pytest.fixture
def retrying_instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A real instance with run retries on (`run_retries.enabled` in dagster.yaml)."""
    (tmp_path / "dagster_home").mkdir()
    with dg.instance_for_test(
        temp_dir=str(tmp_path / "dagster_home"), overrides={"run_retries": {"enabled": True}}
    ) as instance:
        yield instance


@pytest.fixture
def alert_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, ui_base_url=UI)


def fast_sink(url: str) -> AlertSink:
    return AlertSink(webhook_url=url, attempts=3, backoff_s=0.01, timeout_s=5.0)


@dataclasses.dataclass
class Tick:
    skip_reason: str
    cursor: str


def tick(
    settings: Settings,
    name: str,
    instance: dg.DagsterInstance,
    cursor: str | None,
    sink: AlertSink | None = None,
) -> Tick:
    """One sensor evaluation, as the daemon would run it, with the sink given or as wired."""
    defs = build_definitions(settings)
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=defs,
        # A sensor called directly does not take the definitions' resources itself.
        resources={"alert_sink": sink or defs.resources["alert_sink"]},
    )
    result = defs.resolve_sensor_def(name)(context)
    assert isinstance(result, dg.SensorResult)
    assert not result.run_requests
    assert result.skip_reason is not None and result.cursor is not None
    return Tick(result.skip_reason.skip_message or "", result.cursor)


def failing_run(settings: Settings, sandbox: SandboxServer, **kwargs: Any) -> str:
    """A run that fails on 5xx (no HTTP retries), in the given instance; its run id."""
    sandbox.set_faults({"name": "server_errors", "ratio": 1.0})
    result = materialize(with_retry(settings, max_retries=0), **kwargs)
    sandbox.set_faults()
    assert not result.success
    return result.run_id


def test_a_failed_run_alerts_once_with_its_cause_partition_link_and_attempt(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
) -> None:
    first = failing_run(alert_settings, api_env, instance=instance)
    assert materialize(alert_settings, instance=instance).success
    second = failing_run(alert_settings, api_env, instance=instance)

    ticks = [tick(alert_settings, FAILURE_SENSOR, instance, None, fast_sink(receiver.url))]
    for _ in range(3):
        ticks.append(
            tick(
                alert_settings, FAILURE_SENSOR, instance, ticks[-1].cursor, fast_sink(receiver.url)
            )
        )

    assert [a["run_id"] for a in receiver.accepted] == [first, second]
    assert len(receiver.bodies) == 2
    alert = receiver.accepted[0]
    assert alert["alert_id"] == f"support_run_failure:{first}"
    assert alert["kind"] == "run_failed"
    assert alert["title"] == "Support run failed: gave up after 1 attempt"
    assert re.fullmatch(
        r"HTTP 50[0234] after 1 attempt on GET /v1/(tickets|ticket_comments)\?\S+: the API kept "
        r"failing; nothing from this run was loaded\. Run again later\.",
        alert["cause"],
    ), alert["cause"]
    assert alert["partition"] == today()
    assert alert["run_url"] == f"{UI}/runs/{first}"
    assert (alert["attempt"], alert["max_attempts"], alert["will_retry"]) == (1, 1, False)
    assert f"<{UI}/runs/{first}|run {first[:8]}>" in alert["text"]
    assert alert["cause"] in alert["summary"]
    assert ticks[0].skip_reason.startswith("2 alerts sent to the webhook: ")
    assert [t.skip_reason for t in ticks[1:]] == ["No new failed support run."] * 3
    assert len({t.cursor for t in ticks}) == 1


def support_refresh_job() -> dg.JobDefinition:
    """The real `support_refresh_job`, importable for `dg.reconstructable` (settings from env)."""
    return build_definitions(Settings.from_env()).resolve_job_def("support_refresh_job")


def test_a_retried_run_reads_as_a_retry_and_its_last_attempt_as_giving_up(
    api_env: SandboxServer,
    settings: Settings,
    retrying_instance: dg.DagsterInstance,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The job's own tags (dagster/max_retries=1, the default SUPPORT_RUN_MAX_RETRIES), and
    # the retry as Dagster's daemon launches it: a re-execution from failure with the
    # retry number and the run-group tags.
    for name, value in {
        "SUPPORT_DUCKDB_PATH": settings.duckdb_path,
        "SUPPORT_DLT_DIR": settings.dlt_dir,
        "SUPPORT_MAX_RETRIES": "0",
        "SUPPORT_LOAD_RETRIES": "0",
        "SUPPORT_UI_BASE_URL": UI,
    }.items():
        monkeypatch.setenv(name, value)
    job = dg.reconstructable(support_refresh_job)
    api_env.set_faults({"name": "server_errors", "ratio": 1.0})
    # The jobs retry runs only for dead workers; this run asks for step failures too.
    on_failure = {"dagster/retry_on_asset_or_op_failure": "true"}
    first = dg.execute_job(
        job, retrying_instance, tags={"dagster/partition": today(), **on_failure}
    )
    retry = dg.execute_job(
        job,
        retrying_instance,
        tags={
            "dagster/partition": today(),
            "dagster/retry_number": "1",
            "dagster/parent_run_id": first.run_id,
            "dagster/root_run_id": first.run_id,
            **on_failure,
        },
        reexecution_options=dg.ReexecutionOptions.from_failure(first.run_id, retrying_instance),
    )
    assert not first.success and not retry.success
    sensor_settings = Settings.from_env()

    done = tick(sensor_settings, FAILURE_SENSOR, retrying_instance, None, fast_sink(receiver.url))
    again = tick(
        sensor_settings, FAILURE_SENSOR, retrying_instance, done.cursor, fast_sink(receiver.url)
    )

    retrying, final = receiver.accepted
    assert (retrying["run_id"], final["run_id"]) == (first.run_id, retry.run_id)
    assert retrying["kind"] == "run_retrying" and final["kind"] == "run_failed"
    assert retrying["title"] == "Support run failed, Dagster will retry it (attempt 1 of 2)"
    assert final["title"] == "Support run failed: gave up after 2 attempts"
    assert (retrying["attempt"], retrying["max_attempts"], retrying["will_retry"]) == (1, 2, True)
    assert (final["attempt"], final["max_attempts"], final["will_retry"]) == (2, 2, False)
    assert retrying["severity"] == "warning" and final["severity"] == "error"
    assert retrying["job"] == final["job"] == "support_refresh_job"
    assert retrying["partition"] == final["partition"] == today()
    assert final["run_url"] == f"{UI}/runs/{retry.run_id}"
    assert again.skip_reason == "No new failed support run."
    assert len(receiver.bodies) == 2


def test_without_dagster_run_retries_the_first_failure_says_it_gave_up(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
) -> None:
    # The job asks for a retry, but the instance has run retries off: nobody will retry.
    failing_run(alert_settings, api_env, instance=instance, tags={"dagster/max_retries": "1"})

    tick(alert_settings, FAILURE_SENSOR, instance, None, fast_sink(receiver.url))

    (alert,) = receiver.accepted
    assert alert["title"] == (
        "Support run failed: gave up after 1 attempt (run retries are off on this Dagster instance)"
    )
    assert (alert["attempt"], alert["max_attempts"], alert["will_retry"]) == (1, 2, False)


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
    monkeypatch.setattr(sensors, "FIRST_TICK_LOOKBACK_S", 0.0)
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
    monkeypatch.setattr(sensors, "FIRST_TICK_LOOKBACK_S", 0.0)  # that failure is history

    first = tick(alert_settings, FAILURE_SENSOR, instance, None, fast_sink(receiver.url))
    new = failing_run(alert_settings, api_env, instance=instance)
    second = tick(alert_settings, FAILURE_SENSOR, instance, first.cursor, fast_sink(receiver.url))

    assert first.skip_reason == "No new failed support run."
    assert AlertCursor.parse(first.cursor).after is not None
    assert [a["run_id"] for a in receiver.accepted] == [new]
    assert second.skip_reason.startswith("1 alert sent to the webhook: ")


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


def materialization_numbers(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    return {
        event.asset_key.path[-1]: {k: v.value for k, v in event.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()
    }


def test_degraded_api_alerts_once_per_run_and_only_above_the_thresholds(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
) -> None:
    # Every data URL answers 429 once or twice (Retry-After 0, so the test stays fast).
    api_env.set_faults({"name": "rate_limit", "ratio": 1.0, "retry_after": 0})
    result = materialize(alert_settings, instance=instance)
    assert result.success
    numbers = materialization_numbers(result)["support_tickets"]
    retries, waited = numbers["retries"], numbers["retry_after_wait_s"]
    assert retries >= 9 and waited > 0
    assert numbers["retries_429"] == retries == numbers["rate_limited_429"]

    def alerts_at(retry_threshold: int, wait_threshold: float) -> list[dict[str, Any]]:
        settings = dataclasses.replace(
            alert_settings,
            alert_retry_threshold=retry_threshold,
            alert_rate_limit_wait_threshold=wait_threshold,
        )
        before = len(receiver.accepted)
        first = tick(settings, RETRY_SENSOR, instance, None, fast_sink(receiver.url))
        again = tick(settings, RETRY_SENSOR, instance, first.cursor, fast_sink(receiver.url))
        assert again.skip_reason == "No support load above the thresholds."
        assert again.cursor == first.cursor
        return receiver.accepted[before:]

    assert alerts_at(retries, waited) == []  # at the thresholds: not more than them
    (by_retries,) = alerts_at(retries - 1, waited)
    (by_wait,) = alerts_at(retries, waited - 0.001)

    assert by_retries["title"] == by_wait["title"] == "Support API degraded"
    assert by_retries["alert_id"] == f"support_api_degraded:{result.run_id}"
    assert by_retries["assets"] == ["support_tickets", "ticket_comments"]
    assert by_retries["partition"] == today()
    assert by_retries["retries"] == retries
    assert by_retries["retries_by_status"] == {"429": retries}
    assert by_retries["retry_after_wait_s"] == waited
    assert by_retries["reasons"] == [f"{retries} retries (threshold {retries - 1})"]
    assert by_wait["reasons"] == [
        f"{waited:.1f} s waited on Retry-After (threshold {waited - 0.001:g} s)"
    ]
    assert by_retries["run_url"] == f"{UI}/runs/{result.run_id}"


def test_a_healthy_load_raises_no_alert_at_the_default_thresholds(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
) -> None:
    assert materialize(alert_settings, instance=instance).success

    done = tick(alert_settings, RETRY_SENSOR, instance, None, fast_sink(receiver.url))

    assert done.skip_reason == "No support load above the thresholds."
    assert AlertCursor.parse(done.cursor).after is not None
    assert receiver.bodies == []


def test_alerts_carry_no_secret_or_token(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    settings = dataclasses.replace(
        alert_settings, alert_retry_threshold=0, alert_rate_limit_wait_threshold=0.0
    )
    api_env.set_faults(
        {"name": "token_revoke", "every": 2}, {"name": "rate_limit", "ratio": 1.0, "retry_after": 0}
    )
    assert materialize(settings, instance=instance).success
    failing_run(settings, api_env, instance=instance)
    monkeypatch.setenv("SUPPORT_API_CLIENT_SECRET", CLIENT_SECRET + "-wrong")
    assert not materialize(settings, instance=instance).success
    receiver.fail_next = 1

    ticks = [
        tick(settings, name, instance, None, fast_sink(receiver.url))
        for name in (RETRY_SENSOR, FAILURE_SENSOR)
    ]

    assert len(receiver.accepted) == 3
    logged = "".join(capfd.readouterr())
    seen = b"".join(receiver.bodies).decode() + logged + "".join(t.skip_reason for t in ticks)
    assert CLIENT_SECRET not in seen
    assert "Bearer " not in seen
    assert HOOK_PATH not in logged
    credentials = receiver.accepted[-1]
    assert credentials["kind"] == "run_failed"
    assert "401" in credentials["cause"] or "credentials" in credentials["cause"].lower()


def test_every_materialization_carries_the_cursor_before_and_after_and_a_run_summary(
    api_env: SandboxServer, settings: Settings, instance: dg.DagsterInstance
) -> None:
    first = materialize(settings, instance=instance)
    api_env.update("tickets", 5)
    second = materialize(settings, instance=instance)
    day = (dt.date.fromisoformat(today()) - dt.timedelta(days=3)).isoformat()
    backfill = materialize(settings, instance=instance, partition_key=day)

    one, two, past = (
        materialization_numbers(r)["support_tickets"] for r in (first, second, backfill)
    )
    start = dt.datetime.combine(settings.start_date, dt.time(), tzinfo=dt.UTC).timestamp()
    assert one["cursor_before"] == start
    assert two["cursor_before"] == one["cursor_after"]
    assert two["cursor_after"] > one["cursor_after"]
    assert "window_start" not in one
    midnight = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    assert past["window_start"] == midnight.timestamp()
    assert past["window_end"] == (midnight + dt.timedelta(days=1)).timestamp()
    assert past["cursor_before"] == past["cursor_after"] == two["cursor_after"]
    summaries = [
        entry.user_message
        for entry in instance.all_logs(second.run_id)
        if entry.user_message.startswith("Support API summary: ")
    ]
    assert len(summaries) == 1
    assert "\n" not in summaries[0]
    assert re.fullmatch(
        r"Support API summary: incremental refresh from the stored cursor; \d+ HTTP requests, "
        r"\d+ pages, \d+ records \(support_tickets \d+, ticket_comments \d+\), 0 retries, "
        r"0 rate-limited \(429\) with 0\.0 s waited on Retry-After, 1 token grants, 0 token "
        r"recoveries, [\d.]+ s, \d+ records/s; cursor support_tickets (\S+) -> (\S+), "
        r"ticket_comments \S+ -> \S+\.",
        summaries[0],
    ), summaries[0]
