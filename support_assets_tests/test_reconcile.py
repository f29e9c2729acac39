"""The reconcile: records purged at the desk are marked (or removed), comments follow."""

import dataclasses

import dagster as dg
import pytest

from support_assets.definitions import build_definitions
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import failure_message, materialize, warehouse_rows


def reconcile(settings: Settings) -> dg.ExecuteInProcessResult:
    """`support_reconcile_job` through Dagster, as the schedule launches it."""
    job = build_definitions(settings).get_job_def("support_reconcile_job")
    return job.execute_in_process(raise_on_error=False)


def marked(settings: Settings, table: str) -> set[int]:
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
