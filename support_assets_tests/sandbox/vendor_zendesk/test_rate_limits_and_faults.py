"""The zendesk emulator: rate limits and faults."""

from support_assets_tests.sandbox.sandbox_fixtures import COMMENTS
from support_assets_tests.sandbox.vendor_zendesk.desk import (
    EVENTS_PATH,
    FROZEN,
    TICKETS_PATH,
    Desk,
    comments_of,
    merged,
    tickets_of,
)


def test_answers_count_down_zendesks_rate_limit_headers(desk: Desk) -> None:
    desk.server.set_faults(FROZEN)  # one desk minute
    remaining = []
    for path in (TICKETS_PATH, EVENTS_PATH, TICKETS_PATH):
        response = desk.get(path, start_time=0, per_page=1)
        assert response.headers["X-Rate-Limit"] == "700"
        remaining.append(response.headers["X-Rate-Limit-Remaining"])
    assert remaining == ["699", "698", "697"]


def test_rate_limit_answers_zendesks_429_until_the_retry(desk: Desk) -> None:
    desk.server.set_faults({"name": "rate_limit", "ratio": 1.0, "retry_after": 2})
    responses = [desk.get(TICKETS_PATH, start_time=0, per_page=10)]
    while responses[-1].status_code == 429:
        assert len(responses) <= 2
        responses.append(desk.get(TICKETS_PATH, start_time=0, per_page=10))
    *limited, ok = responses
    assert ok.status_code == 200 and len(ok.json()["tickets"]) == 10 and limited
    for response in limited:
        assert response.text == "Number of allowed API requests per minute exceeded"
        assert response.headers["Content-Type"] == "text/plain"
        assert response.headers["Retry-After"] == "2"
        limits = (response.headers["X-Rate-Limit"], response.headers["X-Rate-Limit-Remaining"])
        assert limits == ("700", "0")
    assert desk.server.stats()["faults_injected"] == {"rate_limit": len(limited)}


def test_server_errors_and_outages_answer_5xx_before_the_page(desk: Desk) -> None:
    desk.server.set_faults({"name": "server_errors", "ratio": 1.0})
    statuses = [desk.get(EVENTS_PATH, start_time=0).status_code]
    while statuses[-1] != 200:
        assert len(statuses) <= 2
        statuses.append(desk.get(EVENTS_PATH, start_time=0).status_code)
    assert len(statuses) > 1 and all(status in (500, 502, 503, 504) for status in statuses[:-1])
    desk.server.set_faults({"name": "outage", "requests": 2})
    statuses = [desk.get(TICKETS_PATH, start_time=0).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


def test_live_updates_move_passed_tickets_to_where_the_cursor_reads_them_again(
    desk: Desk,
) -> None:
    before = {t["id"]: t for t in desk.server.truth("tickets")}
    desk.server.set_faults({"name": "live_updates", "per_page": 1}, FROZEN)
    pages = desk.ticket_pages(start_time=0, per_page=25)
    served = tickets_of(pages)
    moved = desk.server.stats()["faults_injected"]["live_updates"]
    assert moved == len(pages) - 1  # one move before each cursor page
    truth = desk.server.truth("tickets")
    changed = {t["id"] for t in truth if t != before[t["id"]]}
    assert len(changed) == moved and {t["id"] for t in served} == set(before)
    # Merged on id, the last version read of each ticket is the desk's: nothing was missed.
    assert sorted(merged(served), key=lambda t: (t["generated_timestamp"], t["id"])) == truth
    assert all(sum(t["id"] == ident for t in served) >= 2 for ident in changed)


def test_live_updates_move_passed_comments_to_where_the_next_page_reads_them_again(
    desk: Desk,
) -> None:
    desk.server.set_faults({"name": "live_updates", "per_page": 1}, FROZEN)
    pages = desk.event_pages(start_time=0, per_page=100, include="comment_events")
    moved = desk.server.stats()["faults_injected"]["live_updates"]
    assert moved == len(pages) - 1  # every page after the first starts past 0
    truth = desk.server.truth("comments")
    rows = merged(comments_of(pages))
    assert len(rows) == COMMENTS
    assert sorted(rows, key=lambda c: c["id"]) == sorted(truth, key=lambda c: c["id"])


def test_rate_budget_answers_zendesks_429_and_headers_past_its_window(desk: Desk) -> None:
    desk.server.set_faults({"name": "rate_budget", "per_minute": 4, "window": 30})  # 2 a window
    responses = [desk.get(TICKETS_PATH, start_time=0, per_page=1) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [r.headers["X-Rate-Limit-Remaining"] for r in responses] == ["1", "0", "0"]
    assert [r.headers["ratelimit-remaining"] for r in responses] == ["1", "0", "0"]
    assert {(r.headers["X-Rate-Limit"], r.headers["ratelimit-limit"]) for r in responses} == {
        ("2", "2")
    }
    refused = responses[-1]
    assert refused.text == "Number of allowed API requests per minute exceeded"
    assert refused.headers["Content-Type"] == "text/plain"
    assert refused.headers["Retry-After"] == refused.headers["ratelimit-reset"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 30
    assert desk.server.stats()["faults_injected"] == {"rate_budget": 1}


def test_a_hidden_rate_budget_sends_no_rate_limit_header(desk: Desk) -> None:
    desk.server.set_faults({"name": "rate_budget", "per_minute": 2, "window": 30, "advertised": 0})
    responses = [desk.get(EVENTS_PATH, start_time=0) for _ in range(2)]
    assert [r.status_code for r in responses] == [200, 429]
    assert "Retry-After" in responses[1].headers
    for response in responses:
        assert not [name for name in response.headers if "rate-limit" in name.lower()]
        assert not [name for name in response.headers if name.lower().startswith("ratelimit")]
