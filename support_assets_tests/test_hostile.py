"""Hostile data from the desk: one exact deviation from the contract at a time.

Each case is served by the sandbox's hostile mechanism to an incremental run over a loaded
warehouse. A case the loader cannot take fails the run with its real cause, naming the
resource, the record or page and what the loader accepts, and leaves the table and the
cursor as they were; a case it can take safely is loaded, as the README states.
"""

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from support_assets.pipeline import guards as pipeline_guards
from support_assets.pipeline import support_pipeline
from support_assets.pipeline.warehouse import stored_cursors
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import failure_message, materialize, warehouse_rows

DEEP = b'{"a":' * 500 + b"1" + b"}" * 500


def tickets(settings: Settings) -> list[tuple[Any, ...]]:
    return warehouse_rows(
        settings,
        "select id, epoch(updated_at), subject, assignee_id from support.support_tickets "
        "order by id",
    )


def truth(sandbox: SandboxServer) -> list[tuple[Any, ...]]:
    return sorted(
        (
            r["id"],
            dt.datetime.fromisoformat(r["updated_at"].replace("Z", "+00:00")).timestamp(),
            r["subject"],
            r["assignee_id"],
        )
        for r in sandbox.truth("tickets")
    )


def cursors(settings: Settings, tmp_path: Path) -> dict[str, dt.datetime]:
    """The incremental cursors as the warehouse stores them."""
    pipeline = support_pipeline(settings, tmp_path / "probe")
    pipeline.sync_destination()
    return stored_cursors(pipeline, settings.api)


def column_type(settings: Settings, table: str, column: str) -> str:
    rows = warehouse_rows(
        settings,
        "select data_type from information_schema.columns where table_schema = 'support' "
        f"and table_name = '{table}' and column_name = '{column}'",
    )
    return rows[0][0] if rows else ""


def record_case(ident: int, **patch: Any) -> dict[str, Any]:
    return {"resource": "tickets", "record": ident, "patch": patch}


def raw_case(ident: int, field: str, raw: bytes) -> dict[str, Any]:
    """`field` of that record served as these bytes, which no JSON encoder would write."""
    return {**record_case(ident, **{field: "__X__"}), "replace": [(b'"__X__"', raw)]}


REFUSED = [
    pytest.param(
        lambda ids: record_case(ids[0], id=1.5),
        [
            "support_tickets: 1 record(s) with an unusable 'id'",
            "(id 1.5 on the page at offset 0: a float)",
            "integers between -2^63 and 2^63-1",
        ],
        id="float-id",
    ),
    pytest.param(
        lambda ids: record_case(ids[0], id=2**63 + 5),
        [
            "support_tickets: 1 record(s) with an unusable 'id'",
            "(id 9223372036854775813 on the page at offset 0: beyond a 64-bit integer)",
        ],
        id="id-beyond-int64",
    ),
    pytest.param(
        lambda ids: record_case(ids[1], id=ids[0]),
        [
            "support_tickets: GET /v1/tickets?",
            "offset=0",
            "lists 1 id(s) more than once: id {0}",
            "running again will not help",
            "the newest copy is not taken",
        ],
        id="duplicate-id-in-page",
    ),
    pytest.param(
        lambda ids: raw_case(ids[0], "custom_fields", DEEP),
        [
            "support_tickets: field 'custom_fields' of record id {0} on the page GET /v1/tickets?",
            "nested at most 254 levels",
        ],
        id="nested-500-deep",
    ),
    pytest.param(
        lambda ids: record_case(ids[0], updated_at="2024-13-45T99:99:99Z"),
        [
            "support_tickets: field 'updated_at' (SUPPORT_CURSOR_FIELD) of record id {0} on the "
            "page GET /v1/tickets?",
            "is '2024-13-45T99:99:99Z', which is not a timestamp",
            "RFC 3339",
        ],
        id="impossible-timestamp",
    ),
    pytest.param(
        lambda ids: record_case(ids[0], updated_at=1714564800),
        [
            "support_tickets: field 'updated_at' (SUPPORT_CURSOR_FIELD) of record id {0} on the "
            "page GET /v1/tickets?",
            "is 1714564800, which is not a timestamp",
        ],
        id="epoch-timestamp",
    ),
    pytest.param(
        lambda ids: raw_case(ids[0], "subject", b'"a\xffb"'),
        [
            "support_tickets: GET /v1/tickets?",
            "not valid JSON: byte",
            "(0xff) is not UTF-8",
            "running again will not help",
        ],
        id="invalid-utf8",
    ),
    pytest.param(
        lambda ids: raw_case(ids[0], "subject", b'"\\ud800"'),
        ["support_tickets: GET /v1/tickets?", "lone UTF-16 surrogate"],
        id="lone-surrogate",
    ),
    pytest.param(
        # The second page starts one record early (the paginator's overlap): offset 99.
        lambda ids: {"resource": "tickets", "offset": 99, "total": "absent"},
        [
            "support_tickets: GET /v1/tickets?",
            "offset=99",
            "has no total at 'total', while the first page of this read had one (",
            "dropped it mid-read",
        ],
        id="total-missing-on-last-page",
    ),
]


@pytest.mark.parametrize(("case", "expected"), REFUSED)
def test_a_hostile_record_or_page_fails_with_its_cause_and_moves_neither_table_nor_cursor(
    api_env: SandboxServer,
    settings: Settings,
    tmp_path: Path,
    case: Any,
    expected: list[str],
) -> None:
    assert materialize(settings).success
    before, cursor_before = tickets(settings), cursors(settings, tmp_path)
    # 150 changed tickets: the incremental read takes two pages, and the lowest ids come
    # first on the first page (after the ties at the cursor).
    ids = sorted(api_env.update("tickets", 150))
    api_env.set_hostile(case(ids))

    failed = materialize(settings)

    assert not failed.success
    message = failure_message(failed)
    for part in expected:
        assert part.format(ids[0]) in message, message
    assert "Nothing from this run was loaded and the cursor did not move" in message
    assert tickets(settings) == before
    assert cursors(settings, tmp_path) == cursor_before
    assert column_type(settings, "support_tickets", "id") == "BIGINT"

    api_env.set_hostile()
    assert materialize(settings).success
    assert tickets(settings) == truth(api_env)


def field_of(settings: Settings, column: str, ident: int) -> Any:
    rows = warehouse_rows(
        settings, f"select {column} from support.support_tickets where id = {ident}"
    )
    return rows[0][0]


@pytest.mark.parametrize(
    ("case", "expected_assignee"),
    [
        (lambda ids: {"resource": "tickets", "offset": 0, "total": "string"}, "truth"),
        (lambda ids: {"resource": "tickets", "offset": 0, "prefix": b"\xef\xbb\xbf"}, "truth"),
        (lambda ids: raw_case(ids[0], "assignee_id", b"NaN"), None),
        (lambda ids: raw_case(ids[0], "assignee_id", b"-Infinity"), None),
    ],
    ids=["total-as-numeric-string", "utf8-bom", "nan-as-null", "infinity-as-null"],
)
def test_a_hostile_page_that_is_safe_to_read_loads_as_the_readme_states(
    api_env: SandboxServer,
    settings: Settings,
    tmp_path: Path,
    case: Any,
    expected_assignee: Any,
) -> None:
    assert materialize(settings).success
    ids = sorted(api_env.update("tickets", 150))
    api_env.set_hostile(case(ids))

    assert materialize(settings).success

    expected = truth(api_env)
    if expected_assignee != "truth":
        expected = [(*row[:3], None) if row[0] == ids[0] else row for row in expected]
    assert tickets(settings) == expected
    newest = max(r["updated_at"] for r in api_env.truth("tickets"))
    assert cursors(settings, tmp_path)["support_tickets"] == dt.datetime.fromisoformat(
        newest.replace("Z", "+00:00")
    )


def test_a_vendor_field_named_like_a_loader_column_is_kept_under_another_name(
    api_env: SandboxServer, settings: Settings
) -> None:
    ids = sorted(r["id"] for r in api_env.truth("tickets"))
    api_env.set_hostile(record_case(ids[0], _dlt_id="vendor-abc", _dlt_load_id="v-load"))

    result = materialize(settings)

    assert result.success
    assert field_of(settings, "vendor_dlt_id", ids[0]) == "vendor-abc"
    assert field_of(settings, "vendor_dlt_load_id", ids[0]) == "v-load"
    # dlt's own columns keep dlt's values: one row id per row, the load's id everywhere.
    assert warehouse_rows(
        settings,
        "select count(distinct _dlt_id), count(distinct _dlt_load_id), count(*) "
        "from support.support_tickets",
    ) == [(len(ids), 1, len(ids))]
    (tickets_event,) = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key.path[-1] == "support_tickets"
    ]
    assert tickets_event.materialization.metadata["renamed_fields"].value == {
        "_dlt_id": "vendor_dlt_id",
        "_dlt_load_id": "vendor_dlt_load_id",
    }
    assert tickets(settings) == truth(api_env)


def test_nanoseconds_are_cut_to_microseconds_as_the_readme_states(
    api_env: SandboxServer, settings: Settings, tmp_path: Path
) -> None:
    record = max(api_env.truth("tickets"), key=lambda r: (r["updated_at"], r["id"]))
    second = record["updated_at"].removesuffix("Z")
    api_env.set_hostile(
        record_case(
            record["id"], updated_at=f"{second}.999999999Z", created_at=f"{second}.5000009Z"
        )
    )

    assert materialize(settings).success

    parsed = dt.datetime.fromisoformat(f"{second}+00:00")
    cut = parsed.replace(microsecond=999999)
    assert field_of(settings, "updated_at", record["id"]) == cut
    assert field_of(settings, "created_at", record["id"]) == parsed.replace(microsecond=500000)
    assert cursors(settings, tmp_path)["support_tickets"] == cut


def test_a_record_larger_than_the_duckdb_memory_cap_still_loads(
    api_env: SandboxServer, settings: Settings, tmp_path: Path
) -> None:
    capped = dataclasses.replace(settings, duckdb_memory_limit="16MB")
    comment = max(api_env.truth("comments"), key=lambda r: (r["updated_at"], r["id"]))
    body = "export line\n" * 1_000_000  # 12 MB of text in one comment; DuckDB needs about 3x that
    api_env.set_hostile({"resource": "comments", "record": comment["id"], "patch": {"body": body}})

    result = materialize(capped)

    assert result.success, failure_message(result)
    assert warehouse_rows(
        settings, f"select length(body) from support.ticket_comments where id = {comment['id']}"
    ) == [(len(body),)]
    assert warehouse_rows(settings, "select count(*) from support.ticket_comments") == [
        (len(api_env.truth("comments")),)
    ]
    newest = dt.datetime.fromisoformat(comment["updated_at"].replace("Z", "+00:00"))
    assert cursors(settings, tmp_path)["ticket_comments"] == newest


def test_a_record_that_does_not_fit_even_a_raised_cap_names_the_setting_and_the_record(
    api_env: SandboxServer, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capped = dataclasses.replace(settings, duckdb_memory_limit="16MB")
    assert materialize(capped).success
    before = warehouse_rows(settings, "select id, body from support.ticket_comments order by id")
    cursor_before = cursors(settings, tmp_path)
    (ident,) = api_env.update("comments", 1)
    body = "export line\n" * 1_000_000
    api_env.set_hostile({"resource": "comments", "record": ident, "patch": {"body": body}})
    # The cap raised only to the record's own size: too little for DuckDB to load it, as
    # a record too large for the machine would be.
    monkeypatch.setattr(pipeline_guards, "RECORD_MEMORY_FACTOR", 1)

    failed = materialize(capped)

    assert not failed.success
    message = failure_message(failed)
    assert "DuckDB ran out of memory loading this run (Out of Memory Error:" in message
    assert "SUPPORT_DUCKDB_MEMORY_LIMIT=16MB" in message
    assert f"the largest record (ticket_comments id {ident}, 13.0 MB)" in message
    assert "Nothing from this run was loaded and the cursor did not move" in message
    assert (
        warehouse_rows(settings, "select id, body from support.ticket_comments order by id")
        == before
    )
    assert cursors(settings, tmp_path) == cursor_before
