"""Bad pages and bad records: a clear error, nothing loaded, the cursor where it was."""

from typing import Any

import pytest

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import (
    TICKETS,
    failure_message,
    materialize,
    table_exists,
    warehouse_rows,
)


def ticket_state(settings: Settings) -> list[tuple[Any, ...]]:
    if not table_exists(settings, "support_tickets"):
        return []
    return warehouse_rows(
        settings, "select id, epoch(updated_at) from support.support_tickets order by id"
    )


def truth_state(sandbox: SandboxServer) -> list[tuple[Any, ...]]:
    import datetime as dt

    return sorted(
        (r["id"], dt.datetime.fromisoformat(r["updated_at"].replace("Z", "+00:00")).timestamp())
        for r in sandbox.truth("tickets")
    )


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            # 99: the second page starts one record early (the paginator's overlap check).
            {"name": "malformed_page", "offset": 99},
            [
                "support_tickets: GET /v1/tickets?",
                "offset=99",
                "answered HTTP 200 (text/html",
                "not JSON",
            ],
        ),
        (
            {"name": "missing_data_key", "offset": 99},
            [
                "support_tickets: GET /v1/tickets?",
                "offset=99",
                "answered HTTP 200 (application/json",
                "without a list at data selector 'tickets'",
            ],
        ),
    ],
    ids=["not-json", "no-data-key"],
)
def test_a_bad_page_fails_the_run_and_moves_neither_table_nor_cursor(
    api_env: SandboxServer, settings: Settings, fault: dict[str, Any], expected: list[str]
) -> None:
    assert materialize(settings).success
    before = ticket_state(settings)
    api_env.update("tickets", 150)  # the incremental run now needs two pages
    api_env.set_faults(fault)

    failed = materialize(settings)

    assert not failed.success
    message = failure_message(failed)
    for part in expected:
        assert part in message
    assert "Nothing from this run was loaded" in message
    assert ticket_state(settings) == before

    api_env.clear_faults()
    assert materialize(settings).success
    assert ticket_state(settings) == truth_state(api_env)


def test_records_without_id_fail_with_a_count_and_the_next_good_run_succeeds(
    api_env: SandboxServer, settings: Settings
) -> None:
    api_env.set_faults({"name": "missing_id", "ratio": 0.02})

    failed = materialize(settings)

    assert not failed.success
    message = failure_message(failed)
    injected = api_env.stats()["faults_injected"]["missing_id"]
    assert "record(s) without 'id'" in message
    assert "pages at offsets [" in message
    assert "nothing from this run was loaded" in message
    assert injected > 0
    assert ticket_state(settings) == []

    api_env.clear_faults()
    assert materialize(settings).success
    assert len(ticket_state(settings)) == TICKETS
