"""Postgres as the destination, end to end, against the machine's real PostgreSQL."""

import dataclasses
import sys

import pytest

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import COMMENTS, TICKETS, materialize

pytestmark = pytest.mark.postgres


def test_postgres_destination_loads_and_merges_like_duckdb(
    api_env: SandboxServer,
    settings: Settings,
    scratch_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import psycopg2

    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", scratch_database)
    pg_settings = dataclasses.replace(settings, destination="postgres")
    assert materialize(pg_settings).success
    changed = api_env.update("tickets", 7)

    result = materialize(pg_settings)

    assert result.success
    kinds = {
        kind
        for event in result.get_asset_materialization_events()
        for kind in [event.materialization.metadata["dagster/storage_kind"].value]
    }
    assert kinds == {"postgres"}
    with psycopg2.connect(scratch_database) as con, con.cursor() as cur:
        cur.execute(
            "select (select count(*) from support.support_tickets), "
            "(select count(distinct id) from support.support_tickets), "
            "(select count(*) from support.ticket_comments)"
        )
        assert cur.fetchone() == (TICKETS, TICKETS, COMMENTS)
        cur.execute(
            "select id, updated_at from support.support_tickets where id = any(%s)",
            (changed,),
        )
        loaded = {i: ts.strftime("%Y-%m-%dT%H:%M:%SZ") for i, ts in cur.fetchall()}
    truth = {r["id"]: r["updated_at"] for r in api_env.truth("tickets") if r["id"] in changed}
    assert loaded == truth


@pytest.mark.parametrize(("ci", "outcome"), [("true", "fail"), ("", "skip")], ids=["ci", "laptop"])
def test_without_the_postgres_driver_ci_fails_where_a_laptop_skips(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, ci: str, outcome: str
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # as where the driver is not installed
    monkeypatch.setenv("CI", ci)

    with pytest.raises((pytest.fail.Exception, pytest.skip.Exception)) as raised:
        request.getfixturevalue("scratch_database")

    expected = pytest.fail.Exception if outcome == "fail" else pytest.skip.Exception
    assert raised.type is expected
    assert "psycopg2 (the PostgreSQL driver" in str(raised.value)
