"""`support_erasure_job`: one requester's tickets and their comments leave the warehouse."""

import dataclasses
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from support_assets.definitions import build_definitions
from support_assets.erasure import ROWS_REMOVED
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets.source.privacy import keyed_hash, parse_rules
from support_assets_tests.helpers import (
    ROOT,
    dagster_env,
    holding_duckdb_lock,
    materialize,
    run_cli,
    venv_bin,
    warehouse_rows,
)

SALT = "salt-canary-e2a81f6c09b4"


def erase(settings: Settings, requester: object) -> dg.ExecuteInProcessResult:
    job = build_definitions(settings).resolve_job_def("support_erasure_job")
    config = {"ops": {"support_erasure": {"config": {"requester_id": str(requester)}}}}
    return job.execute_in_process(run_config=config, raise_on_error=False)


def erase_through_cli(sandbox: SandboxServer, tmp_path: Path, requester: object) -> str:
    """The README's how-to: `dagster job execute` with the config in a file."""
    config = tmp_path / "erasure.yaml"
    config.write_text(f'ops:\n  support_erasure:\n    config:\n      requester_id: "{requester}"\n')
    command = [venv_bin("dagster"), "job", "execute", "-m", "support_assets.definitions"]
    command += ["-j", "support_erasure_job", "-c", str(config)]
    (tmp_path / "dagster_home").mkdir(exist_ok=True)
    done = run_cli(command, dagster_env(sandbox, tmp_path), ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


def count(settings: Settings, table: str, where: str = "true") -> int:
    return warehouse_rows(settings, f"select count(*) from support.{table} where {where}")[0][0]


@pytest.mark.parametrize(
    "mode", ["latest", "scd2-hashed"], ids=["latest-only-cli", "history-and-hashed-requester"]
)
def test_erasure_removes_a_requesters_tickets_and_their_comments_every_version(
    api_env: SandboxServer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    mode: str,
) -> None:
    if mode == "scd2-hashed":
        monkeypatch.setenv("SUPPORT_HASH_SALT", SALT)
        settings = dataclasses.replace(
            settings,
            history="scd2",
            hash_columns=parse_rules(["requester_id"]),
            hash_salt=True,
        )
    tickets = api_env.truth("tickets")
    requester = tickets[0]["requester_id"]
    theirs = sorted(t["id"] for t in tickets if t["requester_id"] == requester)
    their_comments = sum(c["ticket_id"] in theirs for c in api_env.truth("comments"))
    assert materialize(settings).success
    api_env.update("tickets", ids=theirs[:1])  # a second version, when history is kept
    assert materialize(settings).success
    ids = ", ".join(map(str, theirs))
    versions = count(settings, "support_tickets", f"id in ({ids})")
    assert versions == len(theirs) + (mode == "scd2-hashed")
    before = {t: count(settings, t) for t in ("support_tickets", "ticket_comments")}

    removed = {"support_tickets": versions, "ticket_comments": their_comments}
    if mode == "latest":
        output = erase_through_cli(api_env, tmp_path, requester)
        said = f"removed {versions} rows of support_tickets, {their_comments} rows of ticket"
        assert said in output
    else:
        result = erase(settings, requester)
        assert result.success
        [output_event] = [
            e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_OUTPUT
        ]
        metadata: Any = output_event.step_output_data.metadata
        assert metadata[ROWS_REMOVED].data == removed
        # Counts only: the id (and its hash) never reach the run's log.
        logged = " ".join(str(e.message) for e in result.all_events if e.message)
        hashed = keyed_hash(SALT, requester) or ""
        assert f" {requester} " not in logged and hashed not in logged
    assert count(settings, "support_tickets", f"id in ({ids})") == 0
    assert count(settings, "ticket_comments", f"ticket_id in ({ids})") == 0
    assert {t: count(settings, t) for t in before} == {t: before[t] - removed[t] for t in before}


def test_erasure_waits_for_the_destination_like_a_load(
    api_env: SandboxServer, settings: Settings
) -> None:
    settings = dataclasses.replace(settings, lock_retries=0)
    with holding_duckdb_lock(settings.duckdb_path):
        result = erase(settings, 1234)

    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = str(failure.step_failure_data.error)
    assert "destination busy" in message and "SUPPORT_LOCK_RETRIES" in message


@pytest.mark.postgres
def test_history_and_erasure_on_postgres(
    api_env: SandboxServer,
    settings: Settings,
    scratch_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import psycopg2

    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", scratch_database)
    settings = dataclasses.replace(settings, destination="postgres", history="scd2")
    tickets = api_env.truth("tickets")
    requester = tickets[0]["requester_id"]
    theirs = sorted(t["id"] for t in tickets if t["requester_id"] == requester)
    assert materialize(settings).success
    api_env.update("tickets", ids=theirs[:1])
    assert materialize(settings).success

    result = erase(settings, requester)

    assert result.success
    with psycopg2.connect(scratch_database) as con, con.cursor() as cur:
        cur.execute(
            "select (select count(*) from support.support_tickets where id = any(%s)), "
            "(select count(*) from support.ticket_comments where ticket_id = any(%s)), "
            "(select count(*) from support.support_tickets where _dlt_valid_to is null), "
            "(select count(*) - count(distinct id) from support.support_tickets)",
            (theirs, theirs),
        )
        assert cur.fetchone() == (0, 0, len(tickets) - len(theirs), 0)
