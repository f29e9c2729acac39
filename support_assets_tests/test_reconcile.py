"""The reconcile: records purged at the desk are marked (or removed), comments follow."""

import dataclasses
import datetime as dt
from pathlib import Path

import dagster as dg
import dlt
import duckdb
import pytest

from support_assets.definitions import build_definitions
from support_assets.pipeline import support_pipeline
from support_assets.reconcile.listing import Listing
from support_assets.reconcile.marks import apply
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings, SettingsError
from support_assets_tests.helpers import failure_message, materialize, warehouse_rows
from support_assets_tests.test_checks import check_results


def reconcile(settings: Settings) -> dg.ExecuteInProcessResult:
    """`support_reconcile_job` through Dagster, as the schedule launches it."""
    job = build_definitions(settings).resolve_job_def("support_reconcile_job")
    return job.execute_in_process(raise_on_error=False)


def marked(settings: Settings, table: str) -> set[object]:
    return {
        row[0]
        for row in warehouse_rows(
            settings, f"select id from support.{table} where _deleted_at is not null"
        )
    }


def rows(settings: Settings, table: str) -> list[tuple]:
    """Every row but `_deleted_at`, in id order: what "nothing else changes" compares."""
    columns = warehouse_rows(
        settings,
        "select column_name from information_schema.columns where table_schema = 'support' "
        f"and table_name = '{table}' and column_name != '_deleted_at' order by ordinal_position",
    )
    names = ", ".join(f'"{name}"' for (name,) in columns)
    return warehouse_rows(settings, f"select {names} from support.{table} order by id")


def comments_of(settings: Settings, tickets: set[int]) -> set[int]:
    found = warehouse_rows(settings, "select id, ticket_id from support.ticket_comments")
    return {ident for ident, ticket in found if ticket in tickets}


def run_metadata(result: dg.ExecuteInProcessResult) -> dict:
    (output,) = [e for e in result.all_events if e.is_successful_output]
    return {k: v.value for k, v in output.step_output_data.metadata.items()}


def test_purged_tickets_are_marked_with_their_comments_and_nothing_else_changes(
    api_env: SandboxServer, settings: Settings
) -> None:
    assert materialize(settings).success
    before = {table: rows(settings, table) for table in ("support_tickets", "ticket_comments")}
    purged = set(api_env.hard_delete("tickets", 3))

    result = reconcile(settings)

    assert result.success, failure_message(result)
    assert marked(settings, "support_tickets") == purged
    followers = comments_of(settings, purged)
    assert followers and marked(settings, "ticket_comments") == followers
    for table, old in before.items():
        assert rows(settings, table) == old
    metadata = run_metadata(result)
    assert metadata["rows_marked"] == {"support_tickets": 3, "ticket_comments": len(followers)}
    assert metadata["live_rows"] == metadata["vendor_count"] == 247


def test_remove_deletes_the_rows_of_purged_tickets_and_their_comments(
    api_env: SandboxServer, settings: Settings
) -> None:
    settings = dataclasses.replace(settings, deletes="remove")
    assert materialize(settings).success
    comments_before = len(rows(settings, "ticket_comments"))
    purged = set(api_env.hard_delete("tickets", 4))
    followers = comments_of(settings, purged)

    result = reconcile(settings)

    assert result.success, failure_message(result)
    stored = {row[0] for row in warehouse_rows(settings, "select id from support.support_tickets")}
    assert len(stored) == 246 and not stored & purged
    assert comments_of(settings, purged) == set()
    assert len(rows(settings, "ticket_comments")) == comments_before - len(followers)
    assert marked(settings, "support_tickets") == set()
    assert run_metadata(result)["rows_removed"] == {
        "support_tickets": 4,
        "ticket_comments": len(followers),
    }


def test_a_failing_api_changes_nothing_and_the_run_says_why(
    api_env: SandboxServer, settings: Settings
) -> None:
    assert materialize(settings).success
    before = {table: rows(settings, table) for table in ("support_tickets", "ticket_comments")}
    api_env.hard_delete("tickets", 2)
    api_env.set_faults({"name": "outage", "requests": 1000})

    result = reconcile(settings)

    assert not result.success
    message = failure_message(result)
    assert "503" in message and "nothing was marked" in message
    for table, old in before.items():
        assert rows(settings, table) == old
    assert not column_exists(settings, "support_tickets", "_deleted_at")


def test_the_reconcile_refuses_tables_that_keep_history(
    api_env: SandboxServer, settings: Settings
) -> None:
    assert materialize(settings).success
    with duckdb.connect(settings.duckdb_path) as con:  # what dlt's scd2 merge adds
        con.execute("alter table support.support_tickets add column _dlt_valid_from timestamp")
    api_env.hard_delete("tickets", 2)

    result = reconcile(settings)

    assert not result.success
    message = failure_message(result)
    assert "scd2" in message and "Nothing was changed" in message
    assert not column_exists(settings, "support_tickets", "_deleted_at")


def test_the_job_and_its_weekly_schedule_exist_stopped_by_default() -> None:
    defs = build_definitions(Settings.from_env({}))

    job = defs.resolve_job_def("support_reconcile_job")
    schedule = defs.resolve_schedule_def("support_reconcile_schedule")

    assert [op.pool for op in job.graph.node_defs] == [
        "support_api"
    ]  # never beside a load of the same file
    assert schedule.job_name == "support_reconcile_job"
    assert schedule.cron_schedule == "0 3 * * 0"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert Settings.from_env({}).deletes == "mark"
    custom = Settings.from_env(
        {"SUPPORT_RECONCILE_CRON": "0 4 * * *", "SUPPORT_RECONCILE_SCHEDULE_RUNNING": "true"}
    )
    running = build_definitions(custom).resolve_schedule_def("support_reconcile_schedule")
    assert running.cron_schedule == "0 4 * * *"
    assert running.default_status == dg.DefaultScheduleStatus.RUNNING


def test_an_unknown_deletes_mode_is_refused_naming_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"SUPPORT_DELETES='purge'.*mark, remove"):
        Settings.from_env({"SUPPORT_DELETES": "purge"})


def column_exists(settings: Settings, table: str, column: str) -> bool:
    return bool(
        warehouse_rows(
            settings,
            "select 1 from information_schema.columns where table_schema = 'support' "
            f"and table_name = '{table}' and column_name = '{column}'",
        )
    )


@pytest.mark.postgres
def test_the_reconcile_marks_on_postgres_as_on_duckdb(
    api_env: SandboxServer,
    settings: Settings,
    scratch_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import psycopg2

    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", scratch_database)
    settings = dataclasses.replace(settings, destination="postgres")
    assert materialize(settings).success
    purged = set(api_env.hard_delete("tickets", 3))

    result = reconcile(settings)

    assert result.success, failure_message(result)
    with psycopg2.connect(scratch_database) as con, con.cursor() as cur:
        cur.execute("select id from support.support_tickets where _deleted_at is not null")
        assert {row[0] for row in cur.fetchall()} == purged
        cur.execute(
            "select count(*) from support.ticket_comments where _deleted_at is not null "
            "and ticket_id = any(%s)",
            (sorted(purged),),
        )
        followers = cur.fetchone()
        cur.execute("select count(*) from support.ticket_comments where _deleted_at is not null")
        assert followers == cur.fetchone() != (0,)
    assert run_metadata(result)["live_rows"] == 247


def test_after_the_reconcile_the_live_rows_match_the_apis_total_again(
    api_env: SandboxServer, settings: Settings
) -> None:
    assert materialize(settings).success
    api_env.hard_delete("tickets", 3)
    assert reconcile(settings).success

    result = check_results(settings)[("support_tickets", "matches_api_total")]

    assert result.passed
    assert result.metadata["warehouse_rows"].value == result.metadata["api_total"].value == 247


def test_rejected_credentials_change_nothing_and_the_secret_stays_out_of_the_message(
    api_env: SandboxServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert materialize(settings).success
    api_env.hard_delete("tickets", 2)
    monkeypatch.setenv("SUPPORT_API_CLIENT_SECRET", "wrong-secret-value")

    result = reconcile(settings)

    assert not result.success
    message = failure_message(result)
    assert "credentials rejected" in message and "SUPPORT_API_CLIENT_SECRET" in message
    assert "wrong-secret-value" not in message
    logs = "".join(str(e.message) for e in result.all_events)
    assert "wrong-secret-value" not in logs
    assert not column_exists(settings, "support_tickets", "_deleted_at")


def test_a_desk_with_text_ids_is_reconciled_by_the_same_ids(
    settings: Settings, tmp_path: Path
) -> None:
    # A desk of the user's own whose ids are strings: the warehouse holds text ids, and the
    # listing's ids are compared by their text, not turned into integers.
    pipeline = support_pipeline(settings, tmp_path / "seed")
    tickets = [{"id": f"T-{n}", "updated_at": "2026-01-01T00:00:00Z"} for n in range(3)]
    comments = [
        {"id": f"C-{n}", "ticket_id": f"T-{n}", "updated_at": "2026-01-01T00:00:00Z"}
        for n in range(3)
    ]
    pipeline.run(
        [
            dlt.resource(tickets, name="support_tickets", primary_key="id"),
            dlt.resource(comments, name="ticket_comments", primary_key="id"),
        ]
    )
    live = Listing("live", frozenset({"T-0", "T-2"}), "GET /v1/tickets")

    outcome = apply(pipeline, settings, live, dt.datetime(2026, 2, 1, tzinfo=dt.UTC))

    assert outcome is not None
    assert outcome.marked == {"support_tickets": 1, "ticket_comments": 1}
    assert marked(settings, "support_tickets") == {"T-1"}
    assert marked(settings, "ticket_comments") == {"C-1"}
