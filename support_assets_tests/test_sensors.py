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

from support_assets.alerts import cursor, events
from support_assets.alerts.cursor import AlertCursor
from support_assets.alerts.sink import AlertSink
from support_assets.definitions import build_definitions
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import (
    CLIENT_SECRET,
    failure_message,
    free_port,
    materialize,
    today,
    with_retry,
)

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
    monkeypatch.setattr(cursor, "FIRST_TICK_LOOKBACK_S", 0.0)
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
    monkeypatch.setattr(cursor, "FIRST_TICK_LOOKBACK_S", 0.0)  # that failure is history

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


def cursor_after(done: Tick) -> int:
    """The storage id a tick's cursor has handled everything up to."""
    after = AlertCursor.parse(done.cursor).after
    assert after is not None
    return after


def started_support_run(settings: Settings, instance: dg.DagsterInstance) -> dg.DagsterRun:
    """A `support_refresh_job` run as the daemon creates it, before its worker reports."""
    job = build_definitions(settings).resolve_job_def("support_refresh_job")
    return instance.create_run_for_job(
        job_def=job, status=dg.DagsterRunStatus.STARTED, tags={"dagster/partition": today()}
    )


def test_a_run_failed_from_outside_its_worker_alerts_and_later_failures_still_do(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
) -> None:
    # The code server and run monitoring fail a dead worker's run with no failure data.
    killed = started_support_run(alert_settings, instance)
    instance.report_run_failed(killed)
    first = tick(alert_settings, FAILURE_SENSOR, instance, None, fast_sink(receiver.url))
    later = failing_run(alert_settings, api_env, instance=instance)
    second = tick(alert_settings, FAILURE_SENSOR, instance, first.cursor, fast_sink(receiver.url))

    assert [a["run_id"] for a in receiver.accepted] == [killed.run_id, later]
    outside, real = receiver.accepted
    assert outside["cause"] == (
        "run worker died or was failed by run monitoring: This run has been marked as failed "
        "from outside the execution context."
    )
    assert outside["kind"] == "run_failed" and outside["partition"] == today()
    assert real["cause"].startswith("HTTP 50")
    assert first.skip_reason.startswith("1 alert sent to the webhook: ")
    assert second.skip_reason.startswith("1 alert sent to the webhook: ")
    assert cursor_after(second) > cursor_after(first)


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


def degraded(settings: Settings) -> Settings:
    """Thresholds that any retry crosses, and a healthy run does not."""
    return dataclasses.replace(settings, alert_retry_threshold=0, alert_rate_limit_wait_threshold=0)


def rate_limited_run(settings: Settings, sandbox: SandboxServer, **kwargs: Any) -> str:
    """A successful run that met 429s on every data URL; its run id."""
    sandbox.set_faults({"name": "rate_limit", "ratio": 1.0, "retry_after": 0})
    result = materialize(settings, **kwargs)
    sandbox.set_faults()
    assert result.success
    return result.run_id


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


# An API key a vendor wants in the query string; scanned for everywhere a run leaves text.
QUERY_SECRET = "qk-5e8d21c7f0"


def test_a_query_secret_in_a_failing_url_reaches_no_log_exception_or_alert(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    api = alert_settings.api
    keyed = dataclasses.replace(
        api,
        tickets=dataclasses.replace(api.tickets, path=f"/v1/tickets?api_key={QUERY_SECRET}"),
        comments=dataclasses.replace(
            api.comments, path=f"/v1/ticket_comments?api_key={QUERY_SECRET}"
        ),
    )
    settings = dataclasses.replace(
        with_retry(alert_settings, max_retries=0),
        api=keyed,
        token_url=f"{api_env.url}/oauth/token",
    )
    results = []
    # The API failing with 5xx, then asking for a longer Retry-After than allowed.
    for fault in (
        {"name": "server_errors", "ratio": 1.0},
        {"name": "rate_limit", "ratio": 1.0, "retry_after": 3600},
    ):
        api_env.set_faults(fault)
        results.append(materialize(with_retry(settings, max_retries=1), instance=instance))
    api_env.set_faults()
    # The data URL unreachable (the token URL still answers): requests' own message.
    port = free_port()
    monkeypatch.setenv("SUPPORT_API_BASE_URL", f"http://127.0.0.1:{port}")
    results.append(materialize(settings, instance=instance))
    assert not any(r.success for r in results)

    done = tick(settings, FAILURE_SENSOR, instance, None, fast_sink(receiver.url))

    causes = [a["cause"] for a in receiver.accepted]
    assert len(causes) == 3, done.skip_reason
    assert all("api_key=[redacted]" in cause for cause in causes), causes
    assert f"HTTPConnectionPool(host='127.0.0.1', port={port})" in causes[2]
    messages = [failure_message(r) for r in results]
    events = repr([instance.all_logs(r.run_id) for r in results])
    output = capfd.readouterr()
    seen = [
        *messages,
        events,
        output.out + output.err,
        b"".join(receiver.bodies).decode(),
        done.skip_reason,
    ]
    assert [QUERY_SECRET in text for text in seen] == [False] * len(seen)
    # Dagster's storage on disk: event logs and compute logs.
    stored = [p for p in (tmp_path / "dagster_home").rglob("*") if p.is_file()]
    assert stored and [p for p in stored if QUERY_SECRET.encode() in p.read_bytes()] == []
