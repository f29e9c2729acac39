"""Change history (SUPPORT_HISTORY=scd2): every version of a record, contiguous ranges."""

import dataclasses

import pytest

from support_assets.assets import VERSIONS
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import TICKETS, materialize, warehouse_rows


@pytest.fixture
def history(settings: Settings) -> Settings:
    return dataclasses.replace(settings, history="scd2")


def new_ticket(sandbox: SandboxServer) -> int:
    return min(r["id"] for r in sandbox.truth("tickets") if r["status"] == "new")


def versions(settings: Settings, ticket: int) -> list[tuple]:
    return warehouse_rows(
        settings,
        "select status, _dlt_valid_from, _dlt_valid_to from support.support_tickets "
        f"where id = {ticket} order by _dlt_valid_from",
    )


def current(settings: Settings, table: str) -> int:
    return warehouse_rows(
        settings, f"select count(*) from support.{table} where _dlt_valid_to is null"
    )[0][0]


def as_of(settings: Settings, ticket: int, moment: object) -> list[tuple]:
    """The README's "as of" query: the version current at `moment`."""
    return warehouse_rows(
        settings,
        "select status from support.support_tickets "
        f"where id = {ticket} and _dlt_valid_from <= '{moment}'::timestamptz "
        f"and (_dlt_valid_to is null or _dlt_valid_to > '{moment}'::timestamptz)",
    )


def test_a_ticket_moved_new_open_solved_over_three_refreshes_has_three_contiguous_versions(
    api_env: SandboxServer, history: Settings
) -> None:
    ticket = new_ticket(api_env)
    assert materialize(history, with_checks=True, raise_on_error=True).success
    api_env.update("tickets", ids=[ticket])  # new -> open
    assert materialize(history).success
    api_env.update("tickets", ids=[ticket])  # open -> pending
    api_env.update("tickets", ids=[ticket])  # pending -> solved
    # The checks read the current versions: one per id, as many as the desk serves.
    result = materialize(history, with_checks=True)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 7 and all(check.passed for check in checks), checks

    rows = versions(history, ticket)
    assert [status for status, _, _ in rows] == ["new", "open", "solved"]
    # Each range ends where the next begins; the last is open (the current version).
    assert rows[0][2] == rows[1][1] and rows[1][2] == rows[2][1]
    assert rows[0][1] < rows[1][1] < rows[2][1] and rows[2][2] is None
    assert [as_of(history, ticket, start) for _, start, _ in rows] == [
        [("new",)],
        [("open",)],
        [("solved",)],
    ]
    # Incremental runs read only the changed ticket: no other ticket was retired, and
    # what was read twice (ties at the cursor, the pages' overlap) is one version.
    assert current(history, "support_tickets") == TICKETS
    total = warehouse_rows(history, "select count(*) from support.support_tickets")[0][0]
    assert total == TICKETS + 2
    assert current(history, "ticket_comments") == len(api_env.truth("comments"))
    # The row count a reader sees is the current versions'; all of them are noted beside.
    tickets = next(
        m.materialization.metadata
        for m in result.get_asset_materialization_events()
        if m.asset_key.path[-1] == "support_tickets"
    )
    assert tickets["dagster/row_count"].value == TICKETS
    assert tickets[VERSIONS].value == TICKETS + 2


def test_a_full_refresh_with_history_retires_a_purged_ticket_instead_of_deleting_it(
    api_env: SandboxServer, history: Settings
) -> None:
    assert materialize(history).success
    [purged] = api_env.hard_delete("tickets", ids=[new_ticket(api_env)])
    comments = warehouse_rows(
        history, f"select count(*) from support.ticket_comments where ticket_id = {purged}"
    )[0][0]

    assert materialize(history, full_refresh=True).success

    [(_, valid_from, valid_to)] = versions(history, purged)
    assert valid_to is not None and valid_from < valid_to
    assert current(history, "support_tickets") == TICKETS - 1
    retired = warehouse_rows(
        history,
        "select count(*) from support.ticket_comments "
        f"where ticket_id = {purged} and _dlt_valid_to is not null",
    )[0][0]
    assert retired == comments > 0
    assert current(history, "ticket_comments") == len(api_env.truth("comments"))
