"""Long loads: slices committed one by one, a killed run resumed, the cursor kept honest."""

import dataclasses
import datetime as dt
import re
import threading
from pathlib import Path
from typing import Any

import dagster as dg
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from support_assets.pipeline import support_pipeline
from support_assets.pipeline.resume import Marker
from support_assets.pipeline.slices import RESUMED_FROM, SLICES, ceil_second, next_span
from support_assets.pipeline.warehouse import stored_cursors
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import TICKETS, materialize, warehouse_rows, with_retry
from support_assets_tests.test_incremental import CLEAN, compare, data_requests, epoch

# Three or four slices of the sandbox's 850 records: long enough to kill part-way, short
# enough for `make test` (each slice is a dlt run of its own).
RECORDS_PER_SLICE = 350


def sliced(settings: Settings, **changes: Any) -> Settings:
    """Sliced loads whose every failed request fails the load at once (no request retry)."""
    run = with_retry(settings, max_retries=0)
    return dataclasses.replace(run, commit_records=RECORDS_PER_SLICE, **changes)


def retried_in_run(settings: Settings) -> Settings:
    """A failed load is tried again in its run at once: the same lineage, as a run retry."""
    return dataclasses.replace(settings, load_retries=1, load_retry_delay=0.0)


def load(settings: Settings, **kwargs: Any) -> dg.ExecuteInProcessResult:
    """Materialize on an instance of the test's own, whose run log the test reads back."""
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(settings, instance=instance, **kwargs)
    _LOGS[result.run_id] = [entry.user_message for entry in instance.all_logs(result.run_id)]
    return result


_LOGS: dict[str, list[str]] = {}


def messages(result: dg.ExecuteInProcessResult, pattern: str) -> list[str]:
    """The run log's messages matching `pattern`, in order."""
    return [message for message in _LOGS[result.run_id] if re.search(pattern, message)]


def committed(result: dg.ExecuteInProcessResult) -> list[tuple[int, int]]:
    """(slice number, requests) of each slice the run log says was committed."""
    pattern = r"Slice (\d+) committed: \d+ records, (\d+) requests"
    return [
        (int(m.group(1)), int(m.group(2)))
        for text in messages(result, pattern)
        if (m := re.search(pattern, text))
    ]


def metadata(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    materializations = result.asset_materializations_for_node("support_api_assets")
    return {
        m.asset_key.path[-1]: {k: v.value for k, v in m.metadata.items()} for m in materializations
    }


def both_clean(sandbox: SandboxServer, settings: Settings) -> dict[str, Any]:
    return {
        "tickets": compare(settings, sandbox, "tickets", "support_tickets"),
        "comments": compare(settings, sandbox, "comments", "ticket_comments"),
    }


def kill_after(sandbox: SandboxServer, requests: int) -> None:
    """The desk answers `requests` data requests, then fails every one until cleared."""
    sandbox.set_faults({"name": "outage", "after": requests, "requests": 10**9})


def kill_once_after(sandbox: SandboxServer, requests: int) -> None:
    """The desk fails one data request after `requests`: the load in flight dies."""
    sandbox.set_faults({"name": "outage", "after": requests, "requests": 1})


def test_a_long_load_commits_slice_by_slice_and_an_idle_refresh_stays_one_run(
    api_env: SandboxServer, settings: Settings
) -> None:
    run = sliced(settings)
    result = load(run)

    assert result.success
    slices = metadata(result)["support_tickets"][SLICES]
    assert slices == len(committed(result)) > 1
    assert both_clean(api_env, run) == {"tickets": CLEAN, "comments": CLEAN}
    api_env.reset_stats()
    idle = load(run)
    assert idle.success
    assert data_requests(api_env) == {"/v1/tickets": 1, "/v1/ticket_comments": 1}
    assert metadata(idle)["support_tickets"][SLICES] == 1
    assert messages(idle, r"^Slice ") == []


# The slices of an uninterrupted first load of the same data, and what each asked for.
_REFERENCE: list[list[tuple[int, int]]] = []


@hypothesis_settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(kill_at=st.integers(1, 14))
def test_a_load_killed_anywhere_resumes_at_its_last_slice_and_loses_nothing(
    api_env: SandboxServer, settings: Settings, kill_at: int
) -> None:
    # One data request fails after `kill_at` (no request retry): the slice in flight dies,
    # and the in-run retry (the same lineage) resumes.
    base = sliced(settings, duckdb_path=f"{settings.duckdb_path}.{kill_at}")
    run = retried_in_run(dataclasses.replace(base, dlt_dir=f"{settings.dlt_dir}/{kill_at}"))
    if not _REFERENCE:
        api_env.reset()
        reference = dataclasses.replace(run, duckdb_path=f"{settings.duckdb_path}.reference")
        uninterrupted = load(reference)
        assert uninterrupted.success
        _REFERENCE.append(committed(uninterrupted))
    api_env.reset()
    kill_once_after(api_env, kill_at)

    result = load(run)

    assert result.success
    assert both_clean(api_env, run) == {"tickets": CLEAN, "comments": CLEAN}
    resumed = messages(result, r"Resuming this run's earlier attempt")
    # Killed in the first slice (nothing committed yet) or never: the retry reads it all.
    done = int(re.findall(r"(\d+) slice\(s\)", resumed[0])[0]) if resumed else 0
    # The retry commits the slice that was in flight and the ones never started, each
    # once: what it asks for is what an uninterrupted load asks for those slices.
    retried = sum(asked for number, asked in committed(result) if number > done)
    reference = dict(_REFERENCE[0])
    remaining = sum(asked for number, asked in reference.items() if number > done + 1)
    one_slice = max(reference.values())
    assert retried <= remaining + one_slice + 1  # + its own token request


def test_a_killed_incremental_load_leaves_the_cursor_at_committed_rows(
    api_env: SandboxServer, settings: Settings, tmp_path: Path
) -> None:
    run = sliced(settings)
    kill_after(api_env, 9)

    assert not load(run).success
    cursors = committed_cursors(run, tmp_path)
    loaded = {r["id"] for r in api_env.truth("tickets")}
    assert "support_tickets" in cursors  # a slice was committed and moved it
    cursor = cursors["support_tickets"].timestamp()
    rows = dict(warehouse_ids(run, "support_tickets"))
    before_cursor = {r["id"] for r in api_env.truth("tickets") if epoch(r["updated_at"]) < cursor}
    assert before_cursor - set(rows) == set()  # nothing under the cursor is missing
    assert all(ts < cursor for ts in rows.values())  # and nothing past it was committed
    assert loaded - set(rows)  # the load did not finish: the rest is the next run's
    api_env.clear_faults()
    assert load(run).success  # a new launch carries on from the cursor
    assert both_clean(api_env, run) == {"tickets": CLEAN, "comments": CLEAN}


def test_a_new_launch_reads_a_killed_backfill_again_from_its_start(
    api_env: SandboxServer, settings: Settings
) -> None:
    run = sliced(settings)
    kill_after(api_env, 6)
    assert not load(run, full_refresh=True).success
    api_env.clear_faults()
    api_env.reset_stats()

    result = load(run, full_refresh=True)

    assert result.success
    assert messages(result, "Resuming") == []
    assert RESUMED_FROM not in metadata(result)["support_tickets"]
    served = api_env.stats()["records_served"]["tickets"]
    assert served >= TICKETS  # every ticket read again by the new lineage


def test_a_resumed_full_refresh_purges_what_the_desk_dropped_and_keeps_its_slices(
    api_env: SandboxServer, settings: Settings
) -> None:
    run = retried_in_run(sliced(settings))
    assert load(run).success
    purged = api_env.hard_delete("tickets", 5)
    kill_once_after(api_env, 7)

    result = load(run, full_refresh=True)

    assert result.success
    assert messages(result, "Resuming this run's earlier attempt")
    assert RESUMED_FROM in metadata(result)["support_tickets"]
    rows = dict(warehouse_ids(run, "support_tickets"))
    assert set(purged) & set(rows) == set()
    assert both_clean(api_env, run) == {"tickets": CLEAN, "comments": CLEAN}


def test_progress_lines_give_the_figures_and_the_metadata_keeps_them(
    api_env: SandboxServer, settings: Settings
) -> None:
    run = sliced(settings, progress_every=0.05)
    api_env.set_faults({"name": "rate_limit", "ratio": 1.0, "retry_after": 0})  # every URL
    run = with_retry(run, max_retries=3)

    result = load(run)

    assert result.success
    # Lines before the first page say so ("no page yet"); the others carry the figures.
    lines = messages(result, r"^Progress after .*support_tickets")
    assert lines
    pattern = (
        r"support_tickets \d+ records in \d+ pages of \d+ announced \(\d+%\), \d+/s; .*"
        r"\d+ requests, \d+ rate-limited \(429\); slice \d+ \[.*\); "
        r"(about .* left|time left not known yet)\."
    )
    assert all(re.search(pattern, line) for line in lines), lines[:3]
    meta = metadata(result)["support_tickets"]
    assert meta["records_total_at_desk"] == TICKETS
    assert meta["progress"].startswith("Progress after ")
    assert f"{meta[SLICES]} slice(s) committed" in meta["progress"]
    assert meta["rate_limited_429"] == api_env.stats()["faults_injected"]["rate_limit"] > 0
    assert not [t for t in threading.enumerate() if t.name == "support-progress"]


def committed_cursors(settings: Settings, tmp_path: Path) -> dict[str, Any]:
    pipeline = support_pipeline(settings, tmp_path / "inspect")
    pipeline.sync_destination()
    return stored_cursors(pipeline, settings.api)


def warehouse_ids(settings: Settings, table: str) -> list[tuple[int, float]]:
    rows = warehouse_rows(settings, f"select id, epoch(updated_at) from support.{table}")
    return [(int(i), float(ts)) for i, ts in rows]


def test_each_slice_spans_at_most_four_times_more_or_less_than_the_last() -> None:
    assert next_span(100.0, records=0, target=50) == 400.0  # an empty slice: x4
    assert next_span(100.0, records=1000, target=50) == 25.0  # a dense one: x1/4
    assert next_span(100.0, records=100, target=50) == 50.0
    assert ceil_second(dt.datetime(2026, 1, 1, 0, 0, 1, 5, tzinfo=dt.UTC)) == dt.datetime(
        2026, 1, 1, 0, 0, 2, tzinfo=dt.UTC
    )


def test_a_marker_reads_back_as_committed_and_anything_else_is_no_marker() -> None:
    marker = Marker("run-1", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), 3600.0, 2, "1767225600.0")

    assert Marker.from_state(marker.to_state()) == marker
    assert Marker.from_state({"lineage": "run-1"}) is None
    assert Marker.from_state("2026-01-01") is None
