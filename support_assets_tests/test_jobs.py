"""The support jobs as a user launches them: the CLI, without the launchpad's config."""

from pathlib import Path

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
