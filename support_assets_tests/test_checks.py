"""Asset checks: each passes on a good load and fails on the fault it is there to catch."""

import dataclasses
import tempfile
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from support_assets.definitions import build_definitions
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import TICKETS, materialize, today


def check_results(settings: Settings) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    """Run only the checks, as the UI's "Execute checks" does, and key them by (asset, check)."""
    defs = build_definitions(settings)
    result = dg.materialize(
        [defs.get_assets_def("support_tickets"), *defs.asset_checks],
        resources=defs.resources,
        selection=dg.AssetSelection.all_asset_checks(),
    )
    assert result.success
    return {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}


def busy_desk(sandbox: SandboxServer) -> None:
    """A desk in use: something changed in the last hours (the seed's newest may be older)."""
    sandbox.update("tickets", 1)
    sandbox.update("comments", 1)


def test_a_good_load_passes_every_check(api_env: SandboxServer, settings: Settings) -> None:
    busy_desk(api_env)
    assert materialize(settings).success

    results = check_results(settings)

    assert len(results) == 7
    assert {key: r.passed for key, r in results.items() if not r.passed} == {}
    tickets_total = results[("support_tickets", "matches_api_total")].metadata
    assert tickets_total["api_total"].value == tickets_total["warehouse_rows"].value


def test_a_check_run_leaves_no_working_folder_behind(
    api_env: SandboxServer, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    assert materialize(settings).success

    check_results(settings)

    assert sorted(p.name for p in scratch.glob("support_checks_*")) == []


def test_checks_run_after_each_materialization(api_env: SandboxServer, settings: Settings) -> None:
    result = materialize(settings, with_checks=True)

    assert result.success
    assert len(result.get_asset_check_evaluations()) == 7


def test_duplicate_ids_fail_the_uniqueness_check(
    api_env: SandboxServer, settings: Settings
) -> None:
    assert materialize(settings).success
    with duckdb.connect(settings.duckdb_path) as con:
        con.execute(
            "insert into support.support_tickets by name "
            "(select * from support.support_tickets limit 2)"
        )

    result = check_results(settings)[("support_tickets", "id_is_unique")]

    assert not result.passed
    assert result.metadata["duplicate_rows"].value == 2


def test_comments_whose_ticket_is_not_loaded_warn(
    api_env: SandboxServer, settings: Settings
) -> None:
    day = max(r["updated_at"][:10] for r in api_env.truth("comments"))
    assert materialize(settings, partition_key=day, selection=["ticket_comments"]).success

    result = check_results(settings)[("ticket_comments", "ticket_exists")]

    assert not result.passed
    assert result.severity == dg.AssetCheckSeverity.WARN
    assert result.metadata["comments_without_ticket"].value > 0


def test_stale_tables_fail_the_freshness_check(api_env: SandboxServer, settings: Settings) -> None:
    busy_desk(api_env)
    assert materialize(settings).success
    strict = dataclasses.replace(settings, max_data_age_hours=0.0)

    results = check_results(strict)

    assert not results[("support_tickets", "is_fresh")].passed
    assert check_results(settings)[("support_tickets", "is_fresh")].passed


def test_records_purged_at_the_vendor_fail_reconciliation(
    api_env: SandboxServer, settings: Settings
) -> None:
    assert materialize(settings).success
    api_env.hard_delete("tickets", 3)

    result = check_results(settings)[("support_tickets", "matches_api_total")]

    assert not result.passed
    assert result.metadata["difference"].value == 3


def with_total_path(settings: Settings, total_path: str | None) -> Settings:
    return dataclasses.replace(
        settings, api=dataclasses.replace(settings.api, total_path=total_path)
    )


def check_requests(sandbox: SandboxServer) -> int:
    """One-record pages: how the reconciliation asks the API for its totals."""
    return sandbox.stats()["pages_served"]["tickets"] + sandbox.stats()["pages_served"]["comments"]


def test_a_desk_that_kept_working_after_the_load_still_reconciles(
    api_env: SandboxServer, settings: Settings
) -> None:
    assert materialize(settings).success
    api_env.create("tickets", 3)
    api_env.update("tickets", 5)
    api_env.create("comments", 2)
    api_env.delete("comments", 4)

    results = check_results(settings)

    for table in ("support_tickets", "ticket_comments"):
        result = results[(table, "matches_api_total")]
        assert result.passed, result.metadata
        assert result.metadata["difference"].value == 0
    tickets = results[("support_tickets", "matches_api_total")].metadata
    assert tickets["api_total"].value == len(api_env.truth("tickets")) == TICKETS + 3


def test_a_record_missing_from_the_warehouse_fails_reconciliation(
    api_env: SandboxServer, settings: Settings
) -> None:
    assert materialize(settings).success
    with duckdb.connect(settings.duckdb_path) as con:
        con.execute(
            "delete from support.support_tickets where id = (select id from "
            "support.support_tickets order by updated_at limit 1)"
        )

    result = check_results(settings)[("support_tickets", "matches_api_total")]

    assert not result.passed
    assert result.metadata["difference"].value == -1


def test_without_a_total_reconciliation_is_not_checkable(
    api_env: SandboxServer, settings: Settings
) -> None:
    no_total = with_total_path(settings, None)
    assert materialize(no_total).success
    api_env.reset_stats()

    result = check_results(no_total)[("support_tickets", "matches_api_total")]

    assert result.passed
    assert result.description is not None and result.description.startswith("Not checkable")
    assert "SUPPORT_TOTAL_PATH is empty" in result.description
    assert result.metadata["checkable"].value is False
    assert check_requests(api_env) == 0


def test_a_total_read_through_a_json_path_reconciles(
    api_env: SandboxServer, settings: Settings
) -> None:
    at_path = with_total_path(settings, "$.total")
    assert materialize(at_path).success

    result = check_results(at_path)[("support_tickets", "matches_api_total")]

    assert result.passed
    assert result.metadata["api_total"].value == TICKETS


def test_the_refresh_job_loads_and_passes_every_check(
    api_env: SandboxServer, settings: Settings
) -> None:
    busy_desk(api_env)
    job = build_definitions(settings).resolve_job_def("support_refresh_job")

    result = job.execute_in_process(partition_key=today(), instance=dg.DagsterInstance.ephemeral())

    assert result.success
    evaluations = {
        (e.asset_key.path[-1], e.check_name): e.passed for e in result.get_asset_check_evaluations()
    }
    assert evaluations == {
        (table, check): True
        for table in ("support_tickets", "ticket_comments")
        for check in ("id_is_unique", "is_fresh", "matches_api_total")
    } | {("ticket_comments", "ticket_exists"): True}
