"""A real dagster-daemon ticks the schedule; the pool runs it and a backfill one at a time."""

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import (
    dagster_env,
    run_cli,
    stop_processes,
    today,
    venv_bin,
    wait_for,
    warehouse_rows,
)

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
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
    with log.open("w") as out:
        process = subprocess.Popen(
            [venv_bin("dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield env, log
        finally:
            stop_processes(process)


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
                    "dagster/asset_partition_range_start": "2024-01-01",
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
