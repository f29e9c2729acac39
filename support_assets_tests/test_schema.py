"""Open schema: new fields become columns; a type change is loud, or stops the load."""

import dataclasses

import dagster as dg

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import (
    TICKETS,
    failure_message,
    materialize,
    warehouse_rows,
)


def columns(settings: Settings, table: str) -> set[str]:
    rows = warehouse_rows(
        settings,
        "select column_name from information_schema.columns "
        f"where table_schema = 'support' and table_name = '{table}'",
    )
    return {name for (name,) in rows}


def test_drift_mid_run_adds_columns_keeps_every_value_and_warns(
    api_env: SandboxServer, settings: Settings
) -> None:
    api_env.set_faults({"name": "schema_drift", "after_pages": 1})
    instance = dg.DagsterInstance.ephemeral()

    result = materialize(settings, instance=instance)

    assert result.success
    ticket_columns = columns(settings, "support_tickets")
    assert {"via_channel", "requester_id", "requester_id__v_text"} <= ticket_columns
    # New objects and lists are JSON columns, as `tags` and `custom_fields` are: no child
    # tables, and the same shape whether a page went through Arrow or dlt's row path.
    assert "satisfaction_rating" in ticket_columns
    assert {"via_channel", "attachments"} <= columns(settings, "ticket_comments")
    assert warehouse_rows(
        settings,
        "select distinct json_type(satisfaction_rating) from support.support_tickets "
        "where satisfaction_rating is not null",
    ) == [("OBJECT",)]
    assert warehouse_rows(
        settings,
        "select distinct json_type(attachments) from support.ticket_comments "
        "where attachments is not null",
    ) == [("ARRAY",)]
    assert (
        warehouse_rows(
            settings,
            "select table_name from information_schema.tables "
            "where table_schema = 'support' and table_name like '%\\_\\_%' escape '\\'",
        )
        == []
    )
    # Every requester id arrived, in the old column or in its text variant.
    assert warehouse_rows(
        settings,
        "select count(*) from support.support_tickets "
        "where coalesce(cast(requester_id as varchar), requester_id__v_text) is not null",
    ) == [(TICKETS,)]
    warnings = [
        entry.user_message
        for entry in instance.all_logs(result.run_id)
        if "changed type" in (entry.user_message or "")
    ]
    assert len(warnings) == 1 and "requester_id__v_text" in warnings[0]
    changes = {
        event.asset_key.path[-1]: event.materialization.metadata["schema_changes"].value
        for event in result.get_asset_materialization_events()
    }
    assert "requester_id__v_text" in changes["support_tickets"]["support_tickets"]
    assert "via_channel" in changes["ticket_comments"]["ticket_comments"]


def test_frozen_schema_contract_stops_a_drifted_load_and_keeps_the_table(
    api_env: SandboxServer, settings: Settings
) -> None:
    frozen = dataclasses.replace(settings, schema_contract="freeze")
    assert materialize(frozen).success
    before = columns(settings, "support_tickets")
    api_env.update("tickets", 3)
    api_env.set_faults({"name": "schema_drift", "after_pages": 0})

    result = materialize(frozen)

    assert not result.success
    assert "frozen" in failure_message(result).lower()
    assert columns(settings, "support_tickets") == before


def test_a_text_field_turning_into_an_object_gets_a_json_variant_column_and_a_warning(
    api_env: SandboxServer, settings: Settings
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    assert materialize(settings, instance=instance).success
    changed = sorted(api_env.update("tickets", 3))
    api_env.set_hostile(
        *(
            {"resource": "tickets", "record": ident, "patch": {"priority": {"level": "high"}}}
            for ident in changed
        )
    )

    result = materialize(settings, instance=instance)

    assert result.success
    assert warehouse_rows(
        settings,
        "select id, priority, json_extract_string(priority__v_json, '$.level') "
        "from support.support_tickets where priority__v_json is not null order by id",
    ) == [(ident, None, "high") for ident in changed]
    # The text column holds text only: no object stored as JSON text beside the strings.
    assert warehouse_rows(
        settings,
        "select count(*) from support.support_tickets where priority like '{%'",
    ) == [(0,)]
    warnings = [
        entry.user_message
        for entry in instance.all_logs(result.run_id)
        if "changed type" in (entry.user_message or "")
    ]
    assert len(warnings) == 1 and "priority__v_json" in warnings[0]
    changes = {
        event.asset_key.path[-1]: event.materialization.metadata["schema_changes"].value
        for event in result.get_asset_materialization_events()
    }
    assert changes["support_tickets"] == {"support_tickets": ["priority__v_json"]}


def test_a_frozen_contract_refuses_a_text_field_turning_into_an_object(
    api_env: SandboxServer, settings: Settings
) -> None:
    frozen = dataclasses.replace(settings, schema_contract="freeze")
    assert materialize(frozen).success
    before = warehouse_rows(
        settings, "select id, priority from support.support_tickets order by id"
    )
    (changed,) = api_env.update("tickets", 1)
    api_env.set_hostile(
        {"resource": "tickets", "record": changed, "patch": {"priority": {"level": "high"}}}
    )

    result = materialize(frozen)

    assert not result.success
    assert "frozen" in failure_message(result).lower()
    assert "priority__v_json" in failure_message(result)
    assert (
        warehouse_rows(settings, "select id, priority from support.support_tickets order by id")
        == before
    )
