"""The production instance (deploy/dagster.yaml): Dagster's storage in real PostgreSQL."""

import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from support_assets.sandbox import SandboxServer
from support_assets_tests.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    require_service,
    today,
    venv_bin,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "postgresql://postgres:postgres@127.0.0.1:5432/test"
pytestmark = [pytest.mark.slow, pytest.mark.postgres]
RUNS_QUERY = "{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }"


@pytest.fixture
def dagster_database() -> Iterator[str]:
    """A scratch database for Dagster's runs, events and schedules; dropped afterwards."""
    psycopg2 = pytest.importorskip("psycopg2")
    name = f"dagster_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(ADMIN, connect_timeout=3)
    except psycopg2.OperationalError as exc:
        require_service("PostgreSQL at 127.0.0.1:5432", str(exc).strip())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'create database "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_daemon_and_webserver_on_postgres_run_the_schedule_and_store_its_materializations(
    sandbox: SandboxServer, dagster_database: str, tmp_path: Path
) -> None:
    import psycopg2

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    env = {
        "PATH": str(Path(venv_bin("dagster")).parent) + ":/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": "5432",
        "DAGSTER_PG_USERNAME": "postgres",
        "DAGSTER_PG_PASSWORD": "postgres",
        "DAGSTER_PG_DB": dagster_database,
        "SUPPORT_API_BASE_URL": sandbox.url,
        "SUPPORT_API_CLIENT_ID": CLIENT_ID,
        "SUPPORT_API_CLIENT_SECRET": CLIENT_SECRET,
        "SUPPORT_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "SUPPORT_DLT_DIR": str(tmp_path / "dlt"),
        "SUPPORT_SCHEDULE_RUNNING": "true",
        "SUPPORT_REFRESH_CRON": "* * * * *",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
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
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()

    assert run["status"] == "SUCCESS"
    assert {t["key"]: t["value"] for t in run["tags"]}["dagster/partition"] == today()
    admin_dsn = ADMIN.rsplit("/", 1)[0] + f"/{dagster_database}"
    with psycopg2.connect(admin_dsn) as con, con.cursor() as cur:
        cur.execute(
            "select asset_key from event_logs where run_id = %s "
            "and dagster_event_type = 'ASSET_MATERIALIZATION' order by asset_key",
            (run["runId"],),
        )
        stored = [key for (key,) in cur.fetchall()]
    assert stored == ['["support_tickets"]', '["ticket_comments"]']
