"""Column descriptions: which preset's apply, and how they ride into dlt's hints."""

import dataclasses
from pathlib import Path
from typing import Any, cast

import dlt
import pyarrow as pa
import pytest
from dlt.extract.hints import HintsMeta
from dlt.extract.items import DataItemWithMeta

from support_assets.source.columns import (
    CONTRACT_FIELDS,
    DLT_FIELDS,
    DescribeColumns,
    ForgetParentHints,
    columns_of,
    described_hints,
    preset_of,
)
from support_assets.source.contract import CONTRACT_COLUMNS, DEFAULT_API
from support_assets.source.vendors import PRESETS

TEXTS = {"subject": "The subject.", "spam": "Spam or not.", "user_updated_at": "Cursor."}


def hints_of(result: Any) -> dict[str, dict[str, Any]]:
    """The column hints a step's result carries, by name."""
    assert isinstance(result, DataItemWithMeta)
    assert isinstance(result.meta, HintsMeta)
    return dict(result.meta.hints["columns"])  # type: ignore[arg-type]


@pytest.mark.parametrize("vendor", list(PRESETS), ids=list(PRESETS))
def test_a_preset_with_a_setting_changed_keeps_its_columns(vendor: str) -> None:
    api = dataclasses.replace(PRESETS[vendor], page_size=7)

    assert preset_of(api, "support_tickets") == vendor
    assert preset_of(api, "ticket_comments") == vendor


def test_a_desk_of_its_own_is_described_by_the_contract() -> None:
    tickets = dataclasses.replace(DEFAULT_API.tickets, path="/api/cases")
    api = dataclasses.replace(DEFAULT_API, tickets=tickets)

    assert preset_of(api, "support_tickets") is None
    expected = [*CONTRACT_FIELDS["support_tickets"], *DLT_FIELDS]
    assert list(columns_of(api, "support_tickets")) == expected


def test_contract_columns_a_desk_lacks_say_so() -> None:
    columns = columns_of(PRESETS["helpscout"], "support_tickets")

    assert "Help Scout has no such field" in columns["priority"][1]
    assert "has no such field" not in columns["subject"][1]


def test_every_contract_column_hint_has_a_described_type_that_matches() -> None:
    for resource, hints in CONTRACT_COLUMNS.items():
        for name, hint in hints.items():
            assert CONTRACT_FIELDS[resource][name][0] == hint["data_type"], (resource, name)


def test_typed_hints_get_descriptions_and_dlts_columns_description_only_hints() -> None:
    api = PRESETS["helpscout"]
    hints = {"subject": {"data_type": "text"}, "userUpdatedAt": {"data_type": "timestamp"}}

    described = described_hints(hints, api, "support_tickets")

    texts = {name: text for name, (_, text) in columns_of(api, "support_tickets").items()}
    assert described == {
        "subject": {"data_type": "text", "description": texts["subject"]},
        "userUpdatedAt": {"data_type": "timestamp", "description": texts["user_updated_at"]},
        "_dlt_load_id": {"description": texts["_dlt_load_id"]},
        "_dlt_id": {"description": texts["_dlt_id"]},
    }
    assert hints["subject"] == {"data_type": "text"}  # the caller's hints are not changed


def test_a_resource_of_another_name_gets_its_hints_as_they_are() -> None:
    hints = {"x": {"data_type": "text"}}

    assert described_hints(hints, DEFAULT_API, "agents") == hints


def describe_step(columns: dict[str, dict[str, Any]] | None = None) -> DescribeColumns:
    resource = dlt.resource([], name="support_tickets", columns=cast(Any, columns or {}))
    return DescribeColumns(resource, TEXTS)


def test_only_fields_a_batch_holds_are_described_and_each_once() -> None:
    step = describe_step({"subject": {"data_type": "text", "name": "subject"}})

    first = hints_of(step([{"id": 1, "subject": "a"}, {"id": 2, "userUpdatedAt": "x"}]))
    again = step([{"id": 3, "subject": "b", "userUpdatedAt": "y"}])
    later = hints_of(step(pa.table({"id": [4], "spam": [True]})))

    # The typed hint keeps its type and name; a new field's hint has no type (the data
    # gives it) and the warehouse's name, which dlt gives the field too.
    assert first == {
        "subject": {"name": "subject", "data_type": "text", "description": TEXTS["subject"]},
        "user_updated_at": {"name": "user_updated_at", "description": TEXTS["user_updated_at"]},
    }
    assert again == [{"id": 3, "subject": "b", "userUpdatedAt": "y"}]
    assert later == {"spam": {"name": "spam", "description": TEXTS["spam"]}}


def test_hints_an_earlier_step_put_on_the_batch_ride_on() -> None:
    step = describe_step()
    table = pa.table({"id": [1], "spam": [True], "tags": ['["a"]']})
    riding = dlt.mark.with_hints(
        table, dlt.mark.make_hints(columns=[{"name": "tags", "data_type": "json"}])
    )

    result = hints_of(step(riding.data, riding.meta))

    assert result == {
        "tags": {"name": "tags", "data_type": "json"},
        "spam": {"name": "spam", "description": TEXTS["spam"]},
    }


def test_a_childs_records_drop_the_hints_of_their_parents_batch() -> None:
    meta = HintsMeta(dlt.mark.make_hints(columns=[{"name": "spam", "description": "x"}]), False)

    kept = ForgetParentHints()([{"id": 1}], meta)

    assert isinstance(kept, DataItemWithMeta)
    assert kept.meta is None
    assert kept.data == [{"id": 1}]


def test_a_field_never_sent_leaves_no_column_in_dlts_schema(tmp_path: Path) -> None:
    # A description-only hint would stay in the schema as a column without a type.
    resource = dlt.resource([{"id": 1, "subject": "a"}], name="support_tickets", primary_key="id")
    resource.add_step(DescribeColumns(resource, TEXTS))
    pipeline = dlt.pipeline(
        "columns_probe",
        pipelines_dir=str(tmp_path),
        destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
        dataset_name="probe",
    )

    pipeline.run(resource)

    columns: dict[str, Any] = dict(
        pipeline.default_schema.get_table_columns("support_tickets", include_incomplete=True)
    )
    assert "spam" not in columns
    assert columns["subject"]["description"] == TEXTS["subject"]
    assert columns["subject"]["data_type"] == "text"
