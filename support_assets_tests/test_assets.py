"""Both assets end to end: sandbox over HTTP, Dagster, a real DuckDB file."""

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster_dlt import DagsterDltResource

from support_assets.definitions import build_definitions
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import (
    COMMENTS,
    TICKETS,
    materialize,
    pages_for,
    today,
    warehouse_rows,
)


def epoch(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def truth_rows(sandbox: SandboxServer, resource: str, text_field: str) -> set[tuple[Any, ...]]:
    return {(r["id"], epoch(r["updated_at"]), r[text_field]) for r in sandbox.truth(resource)}


def warehouse_set(settings: Settings, table: str, text_field: str) -> set[tuple[Any, ...]]:
    rows = warehouse_rows(
        settings, f"select id, epoch(updated_at), {text_field} from support.{table}"
    )
    return {(i, float(ts), text) for i, ts, text in rows}


def materializations(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    return {
        event.asset_key.path[-1]: {k: v.value for k, v in event.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()
    }


def test_full_load_equals_the_api_truth_including_unicode_text(
    api_env: SandboxServer, settings: Settings
) -> None:
    result = materialize(settings)

    assert result.success
    assert warehouse_set(settings, "support_tickets", "subject") == truth_rows(
        api_env, "tickets", "subject"
    )
    assert warehouse_set(settings, "ticket_comments", "body") == truth_rows(
        api_env, "comments", "body"
    )
    counts = warehouse_rows(
        settings,
        "select (select count(*) from support.support_tickets), "
        "(select count(*) from support.ticket_comments)",
    )
    assert counts == [(TICKETS, COMMENTS)]


def test_materializations_carry_row_counts_columns_and_http_telemetry(
    api_env: SandboxServer, settings: Settings
) -> None:
    result = materialize(settings)

    metadata = materializations(result)
    assert set(metadata) == {"support_tickets", "ticket_comments"}
    tickets = metadata["support_tickets"]
    assert tickets["dagster/row_count"] == TICKETS
    assert tickets["pages"] == pages_for(TICKETS)
    # Every page after the first starts one record early: the paginator's overlap check.
    assert tickets["records_fetched"] == TICKETS + tickets["pages"] - 1
    assert tickets["token_grants"] == 1
    # Every page of a clean load fits the columns and goes to dlt as Arrow.
    assert tickets["pages_via_row_path"] == 0
    assert metadata["ticket_comments"]["pages_via_row_path"] == 0
    columns = {c.name for c in tickets["dagster/column_schema"].columns}
    assert {"id", "subject", "priority", "assignee_id", "updated_at"} <= columns
    assert metadata["ticket_comments"]["dagster/row_count"] == COMMENTS


def test_second_run_after_mutations_merges_without_duplicates(
    api_env: SandboxServer, settings: Settings
) -> None:
    assert materialize(settings).success
    updated = api_env.update("tickets", 5)
    created = api_env.create("tickets", 3)
    comments = api_env.update("comments", 4)

    result = materialize(settings)

    assert result.success
    assert warehouse_set(settings, "support_tickets", "subject") == truth_rows(
        api_env, "tickets", "subject"
    )
    assert warehouse_set(settings, "ticket_comments", "body") == truth_rows(
        api_env, "comments", "body"
    )
    duplicates = warehouse_rows(
        settings,
        "select count(*) - count(distinct id) from support.support_tickets",
    )
    assert duplicates == [(0,)]
    assert len(set(updated) | set(created)) == 8 and len(comments) == 4


def test_a_run_that_loads_zero_rows_succeeds(api_env: SandboxServer, settings: Settings) -> None:
    assert materialize(settings).success

    result = materialize(settings)

    assert result.success
    metadata = materializations(result)
    assert metadata["support_tickets"]["dagster/row_count"] == TICKETS
    assert metadata["ticket_comments"]["dagster/row_count"] == COMMENTS


def test_asset_specs_have_plain_keys_group_kinds_and_no_upstream_stubs(
    settings: Settings,
) -> None:
    from support_assets.definitions import build_definitions

    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()

    assert {key.to_user_string() for key in graph.get_all_asset_keys()} == {
        "support_tickets",
        "ticket_comments",
    }
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name == "support"
        assert node.parent_keys == set()
        assert {"dlt", "duckdb"} <= set(node.kinds)
        assert node.description and node.description.endswith("merged on id.")


def table_shape_and_rows(settings: Settings, table: str) -> tuple[list[Any], list[Any]]:
    """Column names and types, and every row ordered by id (dlt's bookkeeping left out)."""
    columns = warehouse_rows(
        settings,
        "select column_name, data_type from information_schema.columns where "
        f"table_schema = 'support' and table_name = '{table}' "
        "and column_name not in ('_dlt_load_id', '_dlt_id') order by column_name",
    )
    names = ", ".join(f'"{name}"' for name, _ in columns)
    return columns, warehouse_rows(settings, f"select {names} from support.{table} order by id")


@pytest.mark.parametrize("fault", [None, {"name": "schema_drift", "after_pages": 3}])
def test_arrow_pages_and_dlts_row_path_load_identical_tables(
    api_env: SandboxServer, settings: Settings, tmp_path: Path, fault: dict[str, Any] | None
) -> None:
    # One request at a time: the drift starts at the sandbox's n-th page served, which must
    # be the same page of the same collection in both runs (concurrent resources and time
    # parts interleave their pages differently each run).
    settings = dataclasses.replace(settings, max_concurrency=1)
    row_path = dataclasses.replace(
        settings,
        arrow_pages=False,
        duckdb_path=str(tmp_path / "row_path.duckdb"),
        dlt_dir=str(tmp_path / "row_path_dlt"),
    )
    for run_settings in (settings, row_path):
        api_env.set_faults(*([fault] if fault else []))  # drift starts at the same page
        assert materialize(run_settings).success

    for table in ("support_tickets", "ticket_comments"):
        arrow_columns, arrow_rows = table_shape_and_rows(settings, table)
        assert len(arrow_rows) == (TICKETS if table == "support_tickets" else COMMENTS)
        assert table_shape_and_rows(row_path, table) == (arrow_columns, arrow_rows)


MEMORY_LIMITS: list[str] = []


class RecordsDuckDbMemoryLimit(DagsterDltResource):
    """dagster-dlt's resource; after the load, asks the run's own pipeline what cap it ran under."""

    def run(self, context: Any, **kwargs: Any) -> Iterator[Any]:  # pyright: ignore[reportIncompatibleMethodOverride]
        events = list(super().run(context=context, **kwargs))
        with kwargs["dlt_pipeline"].sql_client() as client:
            ((limit,),) = client.execute_sql("select current_setting('memory_limit')")
        MEMORY_LIMITS.append(limit)
        yield from events


@pytest.mark.parametrize(
    ("setting", "shown"), [("64MB", "61.0 MiB"), ("128MB", "122.0 MiB")], ids=["default", "128MB"]
)
def test_loads_run_under_the_duckdb_memory_cap(
    api_env: SandboxServer, settings: Settings, setting: str, shown: str
) -> None:
    settings = dataclasses.replace(settings, duckdb_memory_limit=setting)
    defs = build_definitions(settings)
    MEMORY_LIMITS.clear()

    result = dg.materialize(
        [defs.get_assets_def("support_tickets")],
        resources={**(defs.resources or {}), "dlt": RecordsDuckDbMemoryLimit()},
        partition_key=today(),
    )

    assert result.success
    assert MEMORY_LIMITS == [shown]  # DuckDB shows the cap in MiB
