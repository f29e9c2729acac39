"""What an alert says: the cause, the attempt, retrying or given up; and never a secret."""

import dataclasses
from pathlib import Path

import dagster as dg
import pytest

from support_assets.definitions import build_definitions
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.alerts.alert_fixtures import (
    FAILURE_SENSOR,
    HOOK_PATH,
    RETRY_SENSOR,
    UI,
    Receiver,
    cursor_after,
    failing_run,
    fast_sink,
    started_support_run,
    tick,
)
from support_assets_tests.helpers import (
    CLIENT_SECRET,
    failure_message,
    free_port,
    materialize,
    today,
    with_retry,
)


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
