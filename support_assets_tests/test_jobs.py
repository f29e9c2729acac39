"""The support jobs as a user launches them: the CLI, without the launchpad's config."""

import dataclasses
import datetime as dt
from pathlib import Path

import dagster as dg
import yaml

from support_assets.definitions import build_definitions
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import (
    TICKETS,
    dagster_env,
    materialize,
    run_cli,
    today,
    venv_bin,
    warehouse_rows,
)

ROOT = Path(__file__).resolve().parents[1]


def ticket_ids(settings: Settings) -> set[int]:
    return {i for (i,) in warehouse_rows(settings, "select id from support.support_tickets")}


def test_the_full_refresh_job_launched_without_config_does_a_full_refresh(
    api_env: SandboxServer, tmp_path: Path
) -> None:
    sandbox = api_env
    env = dagster_env(sandbox, tmp_path)
    (tmp_path / "dagster_home").mkdir()
    settings = Settings(duckdb_path=env["SUPPORT_DUCKDB_PATH"], dlt_dir=env["SUPPORT_DLT_DIR"])
    assert materialize(settings).success
    purged = set(sandbox.hard_delete("tickets", 3))
    assert purged <= ticket_ids(settings)  # only a full refresh can see a purge

    # A partition and no config: what `launchRun` from a script or the CLI sends.
    result = run_cli(
        [
            venv_bin("dagster"),
            "job",
            "execute",
            "-m",
            "support_assets.definitions",
            "-j",
            "support_full_refresh_job",
            "--tags",
            f'{{"dagster/partition": "{today()}"}}',
        ],
        env,
        ROOT,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert "Reading full refresh" in result.stderr
    assert ticket_ids(settings) == {r["id"] for r in sandbox.truth("tickets")}
    assert len(ticket_ids(settings)) == TICKETS - 3


def step_retries(instance: dg.DagsterInstance, run_id: str) -> list[float]:
    """The waits Dagster scheduled before each retry of a step, in order."""
    return [
        e.dagster_event.event_specific_data.seconds_to_wait  # type: ignore[union-attr]
        for e in instance.all_logs(run_id)
        if e.dagster_event is not None and e.dagster_event.event_type_value == "STEP_UP_FOR_RETRY"
    ]


def test_a_backfill_run_outlasts_an_outage_by_retrying_its_load_after_a_delay(
    api_env: SandboxServer, settings: Settings
) -> None:
    # Two loads fail (4 attempts each, one request), the third finds the API back.
    settings = dataclasses.replace(settings, load_retries=2, load_retry_delay=0.25)
    api_env.set_faults({"name": "outage", "requests": 8})
    instance = dg.DagsterInstance.ephemeral()

    first = (dt.datetime.now(dt.UTC) - dt.timedelta(days=6)).date().isoformat()

    result = materialize(settings, partition_range=(first, today()), instance=instance)

    assert result.success
    # The n-th retry waits n x SUPPORT_LOAD_RETRY_DELAY: time for an outage to end.
    assert step_retries(instance, result.run_id) == [0.25, 0.5]
    assert api_env.stats()["faults_injected"]["outage"] == 8
    loaded = ticket_ids(settings)
    assert loaded == {r["id"] for r in api_env.truth("tickets") if r["updated_at"][:10] >= first}
    assert len(loaded) > 0


def test_runs_are_retried_for_dead_workers_only_and_loads_after_a_delay(
    settings: Settings,
) -> None:
    # The shipped defaults, not the test fixture's (which turns load retries off).
    defs = build_definitions(Settings(duckdb_path=settings.duckdb_path, dlt_dir=settings.dlt_dir))
    policy = defs.get_assets_def("support_tickets").op.retry_policy
    assert policy == dg.RetryPolicy(max_retries=2, delay=60.0, backoff=dg.Backoff.LINEAR)
    refresh = defs.resolve_job_def("support_refresh_job")
    assert refresh.tags["dagster/max_retries"] == "1"
    assert refresh.tags["dagster/retry_on_asset_or_op_failure"] == "false"
    assert refresh.tags["dagster/max_runtime"] == "1800"
    # Backfill runs carry no job tags: the shipped instance files say the same for them.
    for path in (ROOT / "dagster.yaml", ROOT / "deploy" / "dagster.yaml"):
        retries = yaml.safe_load(path.read_text())["run_retries"]
        assert retries == {
            "enabled": True,
            "max_retries": 1,
            "retry_on_asset_or_op_failure": False,
        }, path
