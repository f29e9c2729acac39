"""What a run did against the desk, counted, and reported as metadata and one log line."""

import datetime as dt

import pytest

from support_assets.source.telemetry import (
    Telemetry,
    retries_by_cause,
    run_summary,
    telemetry_metadata,
)

UTC = dt.UTC


def a_run() -> Telemetry:
    """A run's counters: 6 requests, 3 retries, 2 tokens, 4 pages of 290 records."""
    telemetry = Telemetry()
    for status in (200, 200, 200, 429, 503):
        telemetry.count_response(status)
    telemetry.count_error()  # a connection error: a request without a response
    telemetry.count_retry("429", 1.5, "1")
    telemetry.count_retry("503", 0.25, None)
    telemetry.count_retry("ConnectionError", 0.5, None)
    telemetry.count_token_grant()
    telemetry.count_token_grant()
    telemetry.count_token_recovery()
    telemetry.count_budget_wait(0.75, 0.0)  # pacing to the desk's budget
    telemetry.count_budget_wait(0.25, 1.25)  # another worker held by the 429's pause
    for records in (100, 100, 50):
        telemetry.count_page("support_tickets", records)
    telemetry.count_page("ticket_comments", 40)
    telemetry.count_row_path_pages("support_tickets", 1)
    telemetry.note_renamed("support_tickets", "_dlt_id", "vendor_dlt_id")
    return telemetry


def test_the_counters_add_up_what_the_session_and_the_page_checks_report() -> None:
    telemetry = a_run()

    assert telemetry.requests == 6
    assert dict(telemetry.responses_by_status) == {200: 3, 429: 1, 503: 1}
    assert telemetry.retries == 3
    assert telemetry.rate_limited == 1
    # Waits asked for by Retry-After and waits of our own backoff are kept apart.
    assert (telemetry.retry_after_wait_s, telemetry.backoff_wait_s) == (1.5, 0.75)
    # Waiting for the budget is neither: planned pacing, and others held by a 429's pause.
    assert (telemetry.paced_wait_s, telemetry.held_wait_s) == (1.0, 1.25)
    assert list(telemetry.recent_retries) == [
        ("429", "1", 1.5),
        ("503", None, 0.25),
        ("ConnectionError", None, 0.5),
    ]


@pytest.mark.parametrize(
    ("resource", "elapsed", "expected"),
    [
        (
            "support_tickets",
            2.5,
            {
                "http_requests": 6,
                "pages": 3,
                "records_fetched": 250,
                "pages_via_row_path": 1,
                "retries": 3,
                "renamed_fields": {"_dlt_id": "vendor_dlt_id"},
                "rate_limited_429": 1,
                "retry_after_wait_s": 1.5,
                "paced_wait_s": 1.0,
                "rate_limit_hold_s": 1.25,
                "token_grants": 2,
                "token_recoveries": 1,
                "duration_s": 2.5,
                "records_per_s": 100.0,
                "retries_429": 1,
                "retries_503": 1,
                "retries_ConnectionError": 1,
            },
        ),
        (
            "ticket_comments",
            0.0,
            {
                "http_requests": 6,
                "pages": 1,
                "records_fetched": 40,
                "pages_via_row_path": 0,
                "retries": 3,
                "rate_limited_429": 1,
                "retry_after_wait_s": 1.5,
                "paced_wait_s": 1.0,
                "rate_limit_hold_s": 1.25,
                "token_grants": 2,
                "token_recoveries": 1,
                "duration_s": 0.0,
                "records_per_s": 0.0,
                "retries_429": 1,
                "retries_503": 1,
                "retries_ConnectionError": 1,
            },
        ),
    ],
    ids=["tickets", "comments-in-no-time"],
)
def test_the_metadata_has_the_runs_http_numbers_and_the_resources_pages(
    resource: str, elapsed: float, expected: dict[str, object]
) -> None:
    assert telemetry_metadata(a_run(), resource, elapsed) == expected


def test_the_metadata_rounds_seconds_to_milliseconds() -> None:
    telemetry = Telemetry()
    telemetry.count_retry("429", 1.23456, "2")
    telemetry.count_page("support_tickets", 7)

    metadata = telemetry_metadata(telemetry, "support_tickets", 3.00049)

    assert (metadata["retry_after_wait_s"], metadata["duration_s"]) == (1.235, 3.0)
    assert metadata["records_per_s"] == 2.3


def test_retries_by_cause_reads_the_per_cause_counts_back_from_metadata() -> None:
    metadata = telemetry_metadata(a_run(), "support_tickets", 2.5)

    assert retries_by_cause(metadata) == {"429": 1, "503": 1, "ConnectionError": 1}
    assert retries_by_cause(telemetry_metadata(Telemetry(), "support_tickets", 1.0)) == {}


def test_the_run_summary_says_what_the_api_cost_and_where_the_cursors_went() -> None:
    before = {"support_tickets": dt.datetime(2026, 6, 30, 11, tzinfo=UTC)}
    after = {
        "support_tickets": dt.datetime(2026, 6, 30, 12, tzinfo=UTC),
        "ticket_comments": dt.datetime(2026, 6, 30, 12, 0, 5, tzinfo=UTC),
    }

    summary = run_summary(a_run(), 2.5, "today's refresh", before, after)

    assert summary == (
        "Support API summary: today's refresh; 6 HTTP requests, 4 pages, 290 records "
        "(support_tickets 250, ticket_comments 40), 3 retries (429: 1, 503: 1, "
        "ConnectionError: 1), 1 rate-limited (429) with 1.5 s waited on Retry-After, 2 token "
        "grants, 1 token recoveries, 2.5 s, 116 records/s; cursor support_tickets "
        "2026-06-30T11:00:00Z -> 2026-06-30T12:00:00Z, ticket_comments none -> "
        "2026-06-30T12:00:05Z."
    )


def test_the_summary_of_a_run_that_did_nothing_says_so() -> None:
    assert run_summary(Telemetry(), 0.0, "a backfill", {}, {}) == (
        "Support API summary: a backfill; 0 HTTP requests, 0 pages, 0 records, 0 retries, "
        "0 rate-limited (429) with 0.0 s waited on Retry-After, 0 token grants, 0 token "
        "recoveries, 0.0 s, 0 records/s; cursor none."
    )


def test_the_largest_record_is_kept_and_announced_only_when_it_grows() -> None:
    telemetry = Telemetry()
    announced: list[int] = []
    telemetry.on_large_record = announced.append
    assert telemetry.describe_largest_record() == "no record above 1 MB"

    telemetry.note_record_size("ticket_comments", 17, 12_000_000)
    telemetry.note_record_size("support_tickets", 3, 2_000_000)
    telemetry.note_record_size("ticket_comments", 18, 12_000_000)

    assert announced == [12_000_000]
    assert telemetry.describe_largest_record() == "ticket_comments id 17, 12.0 MB"
