"""No loss under live data: records entering and leaving a slice, desk clocks, busy seconds."""

import dataclasses
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import materialize, warehouse_rows
from support_assets_tests.test_incremental import CLEAN, compare


def _both_clean(sandbox: SandboxServer, settings: Settings) -> dict[str, Any]:
    return {
        "tickets": compare(settings, sandbox, "tickets", "support_tickets"),
        "comments": compare(settings, sandbox, "comments", "ticket_comments"),
    }


@hypothesis_settings(
    max_examples=6,
    deadline=None,
    derandomize=True,  # the same examples on every run: exact, repeatable counts
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 5),
    desk_offset=st.sampled_from([-30, 0, 30]),
    late=st.sampled_from([0, 2]),
    per_page=st.integers(1, 3),
    page_size=st.sampled_from([10, 25, 100]),
)
def test_no_record_is_lost_whatever_the_desk_clock_and_the_records_moving_in_and_out(
    api_env: SandboxServer,
    settings: Settings,
    seed: int,
    desk_offset: int,
    late: int,
    per_page: int,
    page_size: int,
) -> None:
    # The desk's clock is `desk_offset` seconds from ours (ours is skewed, seen from it),
    # and it stamps changes `late` seconds behind that clock: with our clock's window, a
    # moved record lands inside the window being read, possibly before the offset.
    api_env.reset(seed=seed)
    clock = {"name": "desk_clock", "offset": desk_offset, "late": late}
    api_env.set_faults({"name": "live_updates", "per_page": per_page}, clock)
    run = dataclasses.replace(
        settings,
        window_lag=late,
        api=dataclasses.replace(settings.api, page_size=page_size),
        dlt_dir=f"{settings.dlt_dir}/{seed}-{desk_offset}-{late}-{per_page}-{page_size}",
        duckdb_path=f"{settings.duckdb_path}.{seed}.{desk_offset}.{late}.{per_page}.{page_size}",
    )

    assert materialize(run).success
    moved = api_env.stats()["faults_injected"].get("live_updates", 0)
    api_env.set_faults(clock)
    assert materialize(run).success  # the one following run the contract allows

    assert moved > 0
    assert _both_clean(api_env, run) == {"tickets": CLEAN, "comments": CLEAN}


def test_a_busy_second_under_constant_churn_converges(
    api_env: SandboxServer, settings: Settings
) -> None:
    api_env.reset(tickets=600, comments=100)
    assert materialize(settings).success
    # A bulk macro: 500 tickets updated in one second, a slice no time split can shrink;
    # then every page request moves two of the records already passed.
    api_env.update("tickets", 500)
    api_env.set_faults({"name": "live_updates", "per_page": 2})

    result = materialize(settings)

    assert result.success
    assert api_env.stats()["faults_injected"]["live_updates"] > 0
    api_env.clear_faults()
    assert materialize(settings).success
    assert _both_clean(api_env, settings) == {"tickets": CLEAN, "comments": CLEAN}


def _rows(settings: Settings, table: str) -> tuple[int, int]:
    [(rows, ids)] = warehouse_rows(
        settings, f"select count(*), count(distinct id) from support.{table}"
    )
    return rows, ids


def test_full_refresh_under_churn_keeps_one_row_per_id_in_its_newest_version(
    api_env: SandboxServer, settings: Settings
) -> None:
    assert materialize(settings).success
    # A frozen desk clock keeps every move inside the window: records are read twice, an
    # old version first, and the run sees every record's final version.
    api_env.set_faults({"name": "live_updates", "per_page": 2}, {"name": "desk_clock", "frozen": 1})

    result = materialize(settings, full_refresh=True)

    assert result.success
    served = api_env.stats()["records_served"]
    tickets, comments = api_env.truth("tickets"), api_env.truth("comments")
    assert served["tickets"] > len(tickets) and served["comments"] > len(comments)
    assert _rows(settings, "support_tickets") == (len(tickets), len(tickets))
    assert _rows(settings, "ticket_comments") == (len(comments), len(comments))
    assert _both_clean(api_env, settings) == {"tickets": CLEAN, "comments": CLEAN}


def test_a_record_read_twice_in_one_run_keeps_its_newest_version(
    api_env: SandboxServer, settings: Settings
) -> None:
    api_env.set_faults({"name": "live_updates", "per_page": 1}, {"name": "desk_clock", "frozen": 1})

    assert materialize(settings).success

    served = api_env.stats()["records_served"]
    assert served["tickets"] > len(api_env.truth("tickets"))  # some read twice
    assert _both_clean(api_env, settings) == {"tickets": CLEAN, "comments": CLEAN}


def test_a_record_changed_again_within_the_cursor_second_is_loaded(
    api_env: SandboxServer, settings: Settings
) -> None:
    # The desk's clock stands still: both edits carry the same second, the cursor's.
    api_env.set_faults({"name": "desk_clock", "frozen": 1})
    [ident] = api_env.update("tickets", 1)
    assert materialize(settings).success
    api_env.update("tickets", ids=[ident])

    assert materialize(settings).success

    [truth] = [r for r in api_env.truth("tickets") if r["id"] == ident]
    assert warehouse_rows(
        settings, f"select status, priority from support.support_tickets where id = {ident}"
    ) == [(truth["status"], truth["priority"])]
