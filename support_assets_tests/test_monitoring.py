"""Run monitoring under a real daemon: a run whose worker and code server died is failed."""

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from support_assets.sandbox import SandboxServer
from support_assets_tests.helpers import (
    FAST_DAEMON,
    ROOT,
    dagster_env,
    instance_home,
    launch_refresh,
    run_cli,
    running_daemon,
    venv_bin,
    wait_for,
)

pytestmark = pytest.mark.slow
MAX_RUNTIME = 20  # SUPPORT_REFRESH_MAX_RUNTIME for this test; the shipped default is 1800
# run_monitoring.poll_interval_seconds in the test instance; the shipped file says 30
POLL = FAST_DAEMON["run_monitoring"]["poll_interval_seconds"]


@pytest.fixture
def daemon(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[dict[str, str], Path]]:
    home = instance_home(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    env = dagster_env(sandbox, tmp_path, SUPPORT_REFRESH_MAX_RUNTIME=str(MAX_RUNTIME))
    assert run_cli([venv_bin("dagster"), "instance", "migrate"], env, ROOT).returncode == 0
    log = tmp_path / "daemon.log"
    with running_daemon(env, log):
        yield env, log


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The worker's process id (from its RUN_START event) once the run is STARTED."""
    run = instance.get_run_by_id(run_id)
    if run is None or run.status != dg.DagsterRunStatus.STARTED:
        return None
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_START):
        if record.dagster_event is not None and record.dagster_event.pid is not None:
            return record.dagster_event.pid
    return None


def parent_pid(pid: int) -> int:
    # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ")".
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def test_a_run_whose_worker_and_code_server_died_is_failed_and_frees_the_pool(
    sandbox: SandboxServer, daemon: tuple[dict[str, str], Path]
) -> None:
    env, log = daemon
    sandbox.set_faults({"name": "slow", "delay": 5.0})  # the run is still reading when killed
    instance = dg.DagsterInstance.get()
    launch_refresh(env)
    first = wait_for("the first run", lambda: instance.get_runs(limit=1), 60, log)[0]
    worker = wait_for("its worker", lambda: worker_pid(instance, first.run_id), 120, log)
    code_server = parent_pid(worker)
    cmdline = Path(f"/proc/{code_server}/cmdline").read_bytes().replace(b"\0", b" ")
    assert b"dagster" in cmdline and (b"grpc" in cmdline or b"code-server" in cmdline), cmdline

    # Both die at once, as on a host that lost them: nobody is left to report the run.
    os.kill(code_server, signal.SIGKILL)
    os.kill(worker, signal.SIGKILL)
    sandbox.clear_faults()
    # The next refresh queues behind the dead one, whose run still holds the pool.
    launch_refresh(env)

    def finished(run_id: str) -> dg.DagsterRun | None:
        run = instance.get_run_by_id(run_id)
        return run if run is not None and run.is_finished else None

    # Within MAX_RUNTIME + POLL of its start (the bound; a generous wait only guards CI).
    failed = wait_for("monitoring to fail the run", lambda: finished(first.run_id), 180, log)
    assert failed.status == dg.DagsterRunStatus.FAILURE
    messages = [r.message for r in instance.all_logs(first.run_id)]
    assert any(f"maximum runtime of {MAX_RUNTIME} seconds" in m for m in messages), messages
    # The pool's slot came back: the queued refresh left the queue once the dead run ended.
    # (Its launch then meets the code server this test killed, which the daemon does not
    # start again by itself; that is the next run's problem, not the pool's.)
    second = next(r for r in instance.get_runs() if r.run_id != first.run_id)
    dequeued = wait_for(
        "the queued refresh", lambda: starting_at(instance, second.run_id), 120, log
    )
    record = instance.get_run_record_by_id(first.run_id)
    assert record is not None and record.end_time is not None
    assert dequeued >= record.end_time


def starting_at(instance: dg.DagsterInstance, run_id: str) -> float | None:
    """When the run coordinator took the run out of the queue (its RUN_STARTING event)."""
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_STARTING)
    return events[0].timestamp if events else None
