"""The production instance (deploy/dagster.yaml): Dagster's storage in real PostgreSQL."""

import subprocess
from pathlib import Path

import pytest
import requests

from support_assets.sandbox import SandboxServer
from support_assets_tests.helpers import (
    dagster_env,
    free_port,
    instance_home,
    stop_processes,
    today,
    venv_bin,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.postgres]
RUNS_QUERY = "{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }"


def test_daemon_and_webserver_on_postgres_run_the_schedule_and_store_its_materializations(
    sandbox: SandboxServer, scratch_database: str, tmp_path: Path
) -> None:
    import psycopg2

    dagster_database = scratch_database.rsplit("/", 1)[1]
    instance_home(tmp_path, ROOT / "deploy" / "dagster.yaml")
    port = free_port()
    env = dagster_env(
        sandbox,
        tmp_path,
        DAGSTER_PG_HOST="127.0.0.1",
        DAGSTER_PG_PORT="5432",
        DAGSTER_PG_USERNAME="postgres",
        DAGSTER_PG_PASSWORD="postgres",
        DAGSTER_PG_DB=dagster_database,
        SUPPORT_SCHEDULE_RUNNING="true",
        SUPPORT_REFRESH_CRON="* * * * *",
    )
    log = tmp_path / "dagster.log"
    workspace = str(ROOT / "workspace.yaml")
    with log.open("w") as out:
        processes = [
            subprocess.Popen(
                [venv_bin(name), *args, "-w", workspace],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            for name, args in (
                ("dagster-daemon", ["run"]),
                ("dagster-webserver", ["-h", "127.0.0.1", "-p", str(port)]),
            )
        ]
        try:
            url = f"http://127.0.0.1:{port}/graphql"
            query = {"query": RUNS_QUERY}

            def scheduled_runs() -> list[dict]:
                try:
                    body = requests.post(url, json=query, timeout=10).json()
                except requests.RequestException:
                    return []
                assert "errors" not in body, body["errors"]
                runs = ((body.get("data") or {}).get("runsOrError") or {}).get("results", [])
                return [
                    r
                    for r in runs
                    if any(t["key"] == "dagster/schedule_name" for t in r["tags"])
                    and r["status"] in ("SUCCESS", "FAILURE", "CANCELED")
                ]

            (run,) = wait_for("the scheduled run to finish", scheduled_runs, 200, log)[:1]
        finally:
            stop_processes(*processes)

    assert run["status"] == "SUCCESS"
    assert {t["key"]: t["value"] for t in run["tags"]}["dagster/partition"] == today()
    with psycopg2.connect(scratch_database) as con, con.cursor() as cur:
        cur.execute(
            "select asset_key from event_logs where run_id = %s "
            "and dagster_event_type = 'ASSET_MATERIALIZATION' order by asset_key",
            (run["runId"],),
        )
        stored = [key for (key,) in cur.fetchall()]
    assert stored == ['["support_tickets"]', '["ticket_comments"]']
