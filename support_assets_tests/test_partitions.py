"""Daily partitions, backfills, full refresh and the refresh schedule."""

import dataclasses
import datetime as dt
from collections import Counter
from pathlib import Path

import dagster as dg

from support_assets.definitions import build_definitions
from support_assets.partitions import plan_run
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    TICKETS,
    materialize,
    pages_for,
    run_cli,
    today,
    venv_bin,
    warehouse_rows,
)


def ticket_ids(settings: Settings) -> set[int]:
    return {i for (i,) in warehouse_rows(settings, "select id from support.support_tickets")}


def ids_updated_in(sandbox: SandboxServer, first: str, last: str) -> set[int]:
    return {r["id"] for r in sandbox.truth("tickets") if first <= r["updated_at"][:10] <= last}


def busiest_past_days(sandbox: SandboxServer, n: int) -> list[str]:
    days = Counter(r["updated_at"][:10] for r in sandbox.truth("tickets"))
    del days[today()]
    return sorted(day for day, _ in days.most_common(n))


def test_a_past_day_loads_exactly_its_records_and_leaves_the_cursor(
    api_env: SandboxServer, settings: Settings
) -> None:
    (day,) = busiest_past_days(api_env, 1)

    assert materialize(settings, partition_key=day).success

    assert ticket_ids(settings) == ids_updated_in(api_env, day, day)
    # The backfill stored no cursor: the next refresh still reads the whole history.
    api_env.reset_stats()
    assert materialize(settings).success
    assert ticket_ids(settings) == {r["id"] for r in api_env.truth("tickets")}
    # Every page after the first starts one record early: the paginator's overlap check.
    pages = api_env.stats()["requests"]["GET /v1/tickets"]["200"]
    served = api_env.stats()["records_served"]["tickets"]
    assert served == len(api_env.truth("tickets")) + pages - 1


def test_a_partition_range_is_one_run_and_one_pass(
    api_env: SandboxServer, settings: Settings
) -> None:
    first, *_, last = busiest_past_days(api_env, 40)

    result = materialize(settings, partition_range=(first, last))

    assert result.success
    assert ticket_ids(settings) == ids_updated_in(api_env, first, last)
    pages = api_env.stats()["requests"]["GET /v1/tickets"]
    assert pages == {"200": pages_for(len(ids_updated_in(api_env, first, last)))}
    keys = {
        event.partition
        for event in result.get_asset_materialization_events()
        if event.asset_key == dg.AssetKey("support_tickets")
    }
    assert first in keys and last in keys


def test_backfilling_every_partition_is_a_full_history_load(
    api_env: SandboxServer, settings: Settings
) -> None:
    result = materialize(settings, partition_range=(settings.start_date.isoformat(), today()))

    assert result.success
    assert ticket_ids(settings) == {r["id"] for r in api_env.truth("tickets")}


def test_partition_range_through_the_dagster_cli(sandbox: SandboxServer, tmp_path: Path) -> None:
    first, *_, last = busiest_past_days(sandbox, 10)
    warehouse = tmp_path / "cli.duckdb"
    env = {
        "PATH": str(Path(venv_bin("dagster")).parent),
        "HOME": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path),
        "SUPPORT_API_BASE_URL": sandbox.url,
        "SUPPORT_API_CLIENT_ID": CLIENT_ID,
        "SUPPORT_API_CLIENT_SECRET": CLIENT_SECRET,
        "SUPPORT_DUCKDB_PATH": str(warehouse),
        "SUPPORT_DLT_DIR": str(tmp_path / "dlt"),
    }
    command = [venv_bin("dagster"), "asset", "materialize", "--select", "*"]
    command += ["--partition-range", f"{first}...{last}", "-m", "support_assets.definitions"]

    result = run_cli(command, env, tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    assert ticket_ids(Settings(duckdb_path=str(warehouse))) == ids_updated_in(sandbox, first, last)


def test_full_refresh_drops_purged_records_and_spares_the_other_table(
    api_env: SandboxServer, settings: Settings
) -> None:
    assert materialize(settings).success
    comments_before = warehouse_rows(settings, "select count(*) from support.ticket_comments")
    purged = set(api_env.hard_delete("tickets", 5))
    assert materialize(settings).success
    assert purged <= ticket_ids(settings)  # an incremental run cannot see a purge

    result = materialize(settings, full_refresh=True, selection=["support_tickets"])

    assert result.success
    assert ticket_ids(settings) == {r["id"] for r in api_env.truth("tickets")}
    assert not purged & ticket_ids(settings)
    assert warehouse_rows(settings, "select count(*) from support.ticket_comments") == (
        comments_before
    )
    # The cursor follows: an idle refresh afterwards reads only the ties at the cursor.
    api_env.reset_stats()
    assert materialize(settings).success
    assert api_env.stats()["requests"]["GET /v1/tickets"] == {"200": 1}


def test_refresh_schedule_asks_for_todays_partition_and_starts_stopped(
    settings: Settings,
) -> None:
    defs = build_definitions(settings)
    schedule = defs.get_schedule_def("support_refresh_schedule")
    when = dt.datetime(2026, 3, 14, 23, 45, tzinfo=dt.UTC)

    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
        request = schedule(context)

    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2026-03-14"
    assert schedule.cron_schedule == "*/15 * * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    running = build_definitions(
        dataclasses.replace(settings, schedule_running=True, refresh_cron="0 * * * *")
    ).get_schedule_def("support_refresh_schedule")
    assert running.default_status == dg.DefaultScheduleStatus.RUNNING
    assert running.cron_schedule == "0 * * * *"


def test_a_refresh_tick_that_runs_after_midnight_stays_the_incremental_refresh(
    api_env: SandboxServer, settings: Settings
) -> None:
    assert materialize(settings).success
    changed = api_env.update("tickets", 3)  # stamped now: today, after yesterday's tick
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    tick = dt.datetime.combine(yesterday, dt.time(23, 45), tzinfo=dt.UTC)
    schedule = build_definitions(settings).get_schedule_def("support_refresh_schedule")
    with dg.instance_for_test() as instance:
        request = schedule(
            dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
        )
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == yesterday.isoformat()

    # The tick's run starts today (queued, or retried): the latest partition is now today's.
    result = materialize(settings, partition_key=request.partition_key, tags=request.tags)

    assert result.success
    (event, *_) = result.get_asset_materialization_events()
    assert event.materialization.metadata["window"].value == (
        "incremental refresh from the stored cursor"
    )
    truth = {r["id"]: r["updated_at"] for r in api_env.truth("tickets") if r["id"] in changed}
    rows = warehouse_rows(
        settings,
        "select id, strftime(updated_at, '%Y-%m-%dT%H:%M:%SZ') from support.support_tickets "
        f"where id in ({', '.join(map(str, changed))})",
    )
    assert dict(rows) == truth


def test_a_run_asked_for_yesterday_before_midnight_plans_the_incremental_refresh(
    settings: Settings,
) -> None:
    yesterday = dt.datetime(2026, 3, 14, tzinfo=dt.UTC)
    window = dg.TimeWindow(yesterday, yesterday + dt.timedelta(days=1))
    after_midnight = dt.datetime(2026, 3, 15, 0, 5, tzinfo=dt.UTC)

    late = plan_run(settings, window, after_midnight, as_of=yesterday.replace(hour=23, minute=50))
    backfill = plan_run(settings, window, after_midnight, as_of=after_midnight)

    assert late.incremental and late.window.end is None
    assert not backfill.incremental
    assert backfill.window.end == dt.datetime(2026, 3, 15, tzinfo=dt.UTC)


def test_the_first_refresh_after_backfilling_every_partition_reads_from_where_it_ended(
    api_env: SandboxServer, settings: Settings
) -> None:
    assert materialize(settings, partition_range=(settings.start_date.isoformat(), today())).success
    api_env.reset_stats()

    assert materialize(settings).success

    # One page per collection: the ties at the cursor, not the whole history again.
    requests = api_env.stats()["requests"]
    assert requests["GET /v1/tickets"] == {"200": 1}
    assert requests["GET /v1/ticket_comments"] == {"200": 1}
    assert ticket_ids(settings) == {r["id"] for r in api_env.truth("tickets")}


def test_a_backfill_that_misses_history_or_the_latest_day_leaves_the_cursor_unset(
    api_env: SandboxServer, settings: Settings
) -> None:
    yesterday = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
    first, *_ = busiest_past_days(api_env, 40)
    assert materialize(
        settings, partition_range=(settings.start_date.isoformat(), yesterday)
    ).success
    assert materialize(settings, partition_range=(first, today())).success
    api_env.reset_stats()

    assert materialize(settings).success

    # No cursor was stored: the refresh reads all of history (3 pages of 100 tickets).
    assert api_env.stats()["requests"]["GET /v1/tickets"] == {"200": -(-TICKETS // 100)}
