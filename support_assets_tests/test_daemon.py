"""A real dagster-daemon ticks the schedule; the pool runs it and a backfill one at a time."""

import datetime as dt
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.alerts.alert_fixtures import Receiver
from support_assets_tests.helpers import (
    ROOT,
    dagster_env,
    instance_home,
    launch_refresh,
    run_cli,
    running_daemon,
    today,
    venv_bin,
    wait_for,
    warehouse_rows,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = instance_home(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def daemon(
    sandbox: SandboxServer, dagster_home: Path, tmp_path: Path
) -> Iterator[tuple[dict[str, str], Path]]:
    env = dagster_env(
        sandbox, tmp_path, SUPPORT_SCHEDULE_RUNNING="true", SUPPORT_REFRESH_CRON="* * * * *"
    )
    log = tmp_path / "daemon.log"
    with running_daemon(env, log):
        yield env, log


def test_schedule_tick_and_backfill_both_succeed_one_after_the_other(
    sandbox: SandboxServer, daemon: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, log = daemon
    sandbox.set_faults({"name": "slow", "delay": 0.5})  # a run lasts long enough to overlap
    instance = dg.DagsterInstance.get()

    def runs_with(tag: str) -> list[dg.DagsterRun]:
        return [r for r in instance.get_runs() if tag in r.tags]

    scheduled = wait_for(
        "the schedule's run", lambda: runs_with("dagster/schedule_name"), 150, log
    )[0]
    assert scheduled.tags["dagster/partition"] == today()
    # Launched while the scheduled run holds the pool: it must queue behind it.
    launch = run_cli(
        [
            venv_bin("dagster"),
            "job",
            "launch",
            "-w",
            str(ROOT / "workspace.yaml"),
            "-j",
            "support_refresh_job",
            "--tags",
            json.dumps(
                {
                    # A few days, not all since 2024: the scheduled run (the first
                    # incremental one) already reads everything, and each partition of a
                    # range is two materialization events to write.
                    "dagster/asset_partition_range_start": three_days_ago(),
                    "dagster/asset_partition_range_end": today(),
                }
            ),
        ],
        env,
        ROOT,
    )
    assert launch.returncode == 0, launch.stderr[-3000:]
    backfill = wait_for(
        "the backfill run", lambda: runs_with("dagster/asset_partition_range_start"), 30, log
    )[0]

    def finished() -> list[dg.DagsterRun] | None:
        runs = [instance.get_run_by_id(r.run_id) for r in (scheduled, backfill)]
        done = all(r is not None and r.is_finished for r in runs)
        return [r for r in runs if r is not None] if done else None

    final = wait_for("both runs to finish", finished, 240, log)
    assert [r.status for r in final] == [dg.DagsterRunStatus.SUCCESS] * 2
    first = instance.get_run_record_by_id(scheduled.run_id)
    second = instance.get_run_record_by_id(backfill.run_id)
    assert first is not None and second is not None
    assert first.end_time is not None and second.start_time is not None
    # Queued while the scheduled run was in progress, started only once it had ended: the
    # pool let one writer in at a time.
    assert second.create_timestamp.timestamp() < first.end_time
    assert second.start_time >= first.end_time
    settings = Settings(duckdb_path=env["SUPPORT_DUCKDB_PATH"])
    loaded = {i for (i,) in warehouse_rows(settings, "select id from support.support_tickets")}
    assert loaded == {r["id"] for r in sandbox.truth("tickets")}


def test_a_killed_run_worker_is_alerted_and_so_is_the_next_failure(
    sandbox: SandboxServer, dagster_home: Path, tmp_path: Path
) -> None:
    receiver = Receiver()
    env = dagster_env(
        sandbox,
        tmp_path,
        SUPPORT_ALERT_WEBHOOK_URL=receiver.url,
        SUPPORT_RUN_MAX_RETRIES="0",
        SUPPORT_MAX_RETRIES="0",
        # A failing load would otherwise wait and try again inside its run for minutes.
        SUPPORT_LOAD_RETRIES="0",
    )
    instance = dg.DagsterInstance.get()
    log = tmp_path / "daemon.log"

    def worker_pid() -> int | None:
        for run in instance.get_runs():
            for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
                if entry.message.startswith("Started process for run (pid: "):
                    return int(entry.message.split("pid: ")[1].rstrip(").").strip())
        return None

    def alerts(count: int) -> list[dict]:
        return receiver.accepted if len(receiver.accepted) >= count else []

    try:
        with running_daemon(env, log):
            sandbox.set_faults({"name": "slow", "delay": 5.0})  # the run waits on every page
            launch_refresh(env)
            pid = wait_for("the run worker to start", worker_pid, 120, log)
            (killed,) = instance.get_runs()
            wait_for(
                "the step to start",
                lambda: instance.all_logs(killed.run_id, of_type=dg.DagsterEventType.STEP_START),
                60,
                log,
            )
            os.kill(pid, signal.SIGKILL)
            wait_for("the killed run's alert", lambda: alerts(1), 150, log)
            sandbox.set_faults({"name": "server_errors", "ratio": 1.0})
            launch_refresh(env)
            (first, second) = wait_for("the next failure's alert", lambda: alerts(2), 180, log)
    finally:
        receiver.close()

    failed = instance.get_run_by_id(killed.run_id)
    assert failed is not None and failed.status == dg.DagsterRunStatus.FAILURE
    assert first["run_id"] == killed.run_id
    assert first["cause"].startswith(
        "run worker died or was failed by run monitoring: Run execution process for "
        f"{killed.run_id} was terminated by signal 9 (SIGKILL). "
    )
    assert second["run_id"] != killed.run_id and second["kind"] == "run_failed"
    assert second["cause"].startswith("HTTP 50")
    assert len(receiver.bodies) == 2


def three_days_ago() -> str:
    """A backfill's first partition: recent, so the range is a handful of partitions."""
    return (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=3)).isoformat()
