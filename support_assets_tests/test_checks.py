"""Asset checks: each passes on a good load and fails on the fault it is there to catch."""

import dataclasses

import dagster as dg
import duckdb

from support_assets.definitions import build_definitions
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import materialize


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
