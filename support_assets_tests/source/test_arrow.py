"""Pages to Arrow: the types the row path would give, or the row path itself."""

import copy
import datetime as dt
from typing import Any

import dlt
import pyarrow as pa

from support_assets.source.arrow import ArrowPages
from support_assets.source.contract import CONTRACT_COLUMNS
from support_assets.source.telemetry import Telemetry


class Page(list[dict[str, Any]]):
    """A page as dlt's client yields it: records plus the paginator's verdict."""

    def __init__(self, records: list[dict[str, Any]], more: bool) -> None:
        super().__init__(records)
        self.paginator = type("Paginator", (), {"has_next_page": more})()


def ticket(i: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": i,
        "subject": f"Ticket {i} ✓",
        "requester_id": 1000 + i,
        "tags": ["billing"] if i % 2 else [],
        "custom_fields": {"plan": "pro", "seats": i, "trial": False},
        "updated_at": "2026-11-01T10:00:00Z",
        **fields,
    }


def pages_step(telemetry: Telemetry, batch_rows: int = 5_000) -> ArrowPages:
    resource = dlt.resource(
        [], name="support_tickets", columns=copy.deepcopy(CONTRACT_COLUMNS["support_tickets"])
    )
    resource.apply_hints(columns={"updated_at": {"data_type": "timestamp"}})
    return ArrowPages(resource, "updated_at", telemetry, batch_rows=batch_rows)


def test_a_page_becomes_one_typed_arrow_table() -> None:
    page = [ticket(1, assignee_id=None, escalated_by=None), ticket(2, assignee_id=None)]
    table = pages_step(Telemetry())(Page(page, more=False))

    assert isinstance(table, pa.Table)
    assert table.schema.field("id").type == pa.int64()
    assert not table.schema.field("id").nullable
    assert table.schema.field("updated_at").type == pa.timestamp("us", tz="UTC")
    assert table.column("custom_fields").to_pylist()[0] == (
        '{"plan":"pro","seats":1,"trial":false}'
    )
    assert table.column("tags").to_pylist() == ['["billing"]', "[]"]
    assert table.column("subject").to_pylist() == ["Ticket 1 ✓", "Ticket 2 ✓"]
    # A declared column that is null so far keeps its type; an unknown one gets no column
    # until a value arrives, as on the row path.
    assert table.schema.field("assignee_id").type == pa.int64()
    assert "escalated_by" not in table.column_names


def test_a_value_that_does_not_fit_sends_the_batch_down_the_row_path() -> None:
    telemetry = Telemetry()
    # 1.5 in a bigint column: Arrow would truncate it to 1; dlt makes a variant column.
    out = pages_step(telemetry)(Page([ticket(1), ticket(2, requester_id=1.5)], more=False))

    assert isinstance(out, list)
    assert out[1]["requester_id"] == 1.5
    assert out[0]["updated_at"] == dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)
    assert telemetry.row_path_pages["support_tickets"] == 1


def test_pages_are_held_until_the_batch_fills_or_paging_ends() -> None:
    step = pages_step(Telemetry(), batch_rows=4)

    assert step(Page([ticket(1), ticket(2)], more=True)) is None
    full = step(Page([ticket(3), ticket(4)], more=True))
    assert full.column("id").to_pylist() == [1, 2, 3, 4]
    assert step(Page([ticket(5)], more=True)) is None
    last = step(Page([], more=False))  # the last page may be empty; the held one still goes
    assert last.column("id").to_pylist() == [5]
    assert step(Page([], more=False)) is None


def test_a_new_field_with_timestamps_is_a_timestamp_column_as_dlt_would_type_it() -> None:
    table = pages_step(Telemetry())(
        Page([ticket(1, due_at="2026-12-01T00:00:00Z", channel="email")], more=False)
    )

    assert table.schema.field("due_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("channel").type == pa.string()
