"""The two alert sensors over real runs: which runs they alert on, once each, and when."""

import dataclasses
import datetime as dt
import re
from typing import Any

import dagster as dg

from support_assets.alerts.cursor import AlertCursor
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.alerts.alert_fixtures import (
    FAILURE_SENSOR,
    RETRY_SENSOR,
    UI,
    Receiver,
    failing_run,
    fast_sink,
    materialization_numbers,
    tick,
)
from support_assets_tests.helpers import materialize, today


def test_a_failed_run_alerts_once_with_its_cause_partition_link_and_attempt(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
) -> None:
    first = failing_run(alert_settings, api_env, instance=instance)
    assert materialize(alert_settings, instance=instance).success
    second = failing_run(alert_settings, api_env, instance=instance)

    ticks = [tick(alert_settings, FAILURE_SENSOR, instance, None, fast_sink(receiver.url))]
    for _ in range(3):
        ticks.append(
            tick(
                alert_settings, FAILURE_SENSOR, instance, ticks[-1].cursor, fast_sink(receiver.url)
            )
        )

    assert [a["run_id"] for a in receiver.accepted] == [first, second]
    assert len(receiver.bodies) == 2
    alert = receiver.accepted[0]
    assert alert["alert_id"] == f"support_run_failure:{first}"
    assert alert["kind"] == "run_failed"
    assert alert["title"] == "Support run failed: gave up after 1 attempt"
    assert re.fullmatch(
        r"HTTP 50[0234] after 1 attempt on GET /v1/(tickets|ticket_comments)\?\S+: the API kept "
        r"failing; nothing from this run was loaded\. Run again later\."
        # A windowed collection read in concurrent time parts names the part that failed.
        r"( \((support_tickets|ticket_comments): while reading the time part \S+ \.\. \S+\))?",
        alert["cause"],
    ), alert["cause"]
    assert alert["partition"] == today()
    assert alert["run_url"] == f"{UI}/runs/{first}"
    assert (alert["attempt"], alert["max_attempts"], alert["will_retry"]) == (1, 1, False)
    assert f"<{UI}/runs/{first}|run {first[:8]}>" in alert["text"]
    assert alert["cause"] in alert["summary"]
    assert ticks[0].skip_reason.startswith("2 alerts sent to the webhook: ")
    assert [t.skip_reason for t in ticks[1:]] == ["No new failed support run."] * 3
    assert len({t.cursor for t in ticks}) == 1


def test_degraded_api_alerts_once_per_run_and_only_above_the_thresholds(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
) -> None:
    # Every data URL answers 429 once or twice (Retry-After 0, so the test stays fast).
    api_env.set_faults({"name": "rate_limit", "ratio": 1.0, "retry_after": 0})
    result = materialize(alert_settings, instance=instance)
    assert result.success
    numbers = materialization_numbers(result)["support_tickets"]
    retries, waited = numbers["retries"], numbers["retry_after_wait_s"]
    assert retries >= 9 and waited > 0
    assert numbers["retries_429"] == retries == numbers["rate_limited_429"]

    def alerts_at(retry_threshold: int, wait_threshold: float) -> list[dict[str, Any]]:
        settings = dataclasses.replace(
            alert_settings,
            alert_retry_threshold=retry_threshold,
            alert_rate_limit_wait_threshold=wait_threshold,
        )
        before = len(receiver.accepted)
        first = tick(settings, RETRY_SENSOR, instance, None, fast_sink(receiver.url))
        again = tick(settings, RETRY_SENSOR, instance, first.cursor, fast_sink(receiver.url))
        assert again.skip_reason == "No support load above the thresholds."
        assert again.cursor == first.cursor
        return receiver.accepted[before:]

    assert alerts_at(retries, waited) == []  # at the thresholds: not more than them
    (by_retries,) = alerts_at(retries - 1, waited)
    (by_wait,) = alerts_at(retries, waited - 0.001)

    assert by_retries["title"] == by_wait["title"] == "Support API degraded"
    assert by_retries["alert_id"] == f"support_api_degraded:{result.run_id}"
    assert by_retries["assets"] == ["support_tickets", "ticket_comments"]
    assert by_retries["partition"] == today()
    assert by_retries["retries"] == retries
    assert by_retries["retries_by_status"] == {"429": retries}
    assert by_retries["retry_after_wait_s"] == waited
    assert by_retries["reasons"] == [f"{retries} retries (threshold {retries - 1})"]
    assert by_wait["reasons"] == [
        f"{waited:.1f} s waited on Retry-After (threshold {waited - 0.001:g} s)"
    ]
    assert by_retries["run_url"] == f"{UI}/runs/{result.run_id}"


def test_a_healthy_load_raises_no_alert_at_the_default_thresholds(
    api_env: SandboxServer,
    alert_settings: Settings,
    instance: dg.DagsterInstance,
    receiver: Receiver,
) -> None:
    assert materialize(alert_settings, instance=instance).success

    done = tick(alert_settings, RETRY_SENSOR, instance, None, fast_sink(receiver.url))

    assert done.skip_reason == "No support load above the thresholds."
    assert AlertCursor.parse(done.cursor).after is not None
    assert receiver.bodies == []


def test_every_materialization_carries_the_cursor_before_and_after_and_a_run_summary(
    api_env: SandboxServer, settings: Settings, instance: dg.DagsterInstance
) -> None:
    first = materialize(settings, instance=instance)
    api_env.update("tickets", 5)
    second = materialize(settings, instance=instance)
    day = (dt.date.fromisoformat(today()) - dt.timedelta(days=3)).isoformat()
    backfill = materialize(settings, instance=instance, partition_key=day)

    one, two, past = (
        materialization_numbers(r)["support_tickets"] for r in (first, second, backfill)
    )
    start = dt.datetime.combine(settings.start_date, dt.time(), tzinfo=dt.UTC).timestamp()
    assert one["cursor_before"] == start
    assert two["cursor_before"] == one["cursor_after"]
    assert two["cursor_after"] > one["cursor_after"]
    assert "window_start" not in one
    midnight = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    assert past["window_start"] == midnight.timestamp()
    assert past["window_end"] == (midnight + dt.timedelta(days=1)).timestamp()
    assert past["cursor_before"] == past["cursor_after"] == two["cursor_after"]
    summaries = [
        entry.user_message
        for entry in instance.all_logs(second.run_id)
        if entry.user_message.startswith("Support API summary: ")
    ]
    assert len(summaries) == 1
    assert "\n" not in summaries[0]
    assert re.fullmatch(
        r"Support API summary: incremental refresh from the stored cursor; \d+ HTTP requests, "
        r"\d+ pages, \d+ records \(support_tickets \d+, ticket_comments \d+\), 0 retries, "
        r"0 rate-limited \(429\) with 0\.0 s waited on Retry-After, 1 token grants, 0 token "
        r"recoveries, [\d.]+ s, \d+ records/s; cursor support_tickets (\S+) -> (\S+), "
        r"ticket_comments \S+ -> \S+\.",
        summaries[0],
    ), summaries[0]
