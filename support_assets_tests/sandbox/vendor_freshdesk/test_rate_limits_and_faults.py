"""The freshdesk emulator: rate limits and faults."""

from typing import Any

import requests

from support_assets_tests.sandbox.vendor_freshdesk.desk import (
    EPOCH,
    LOADER,
    TICKETS_PATH,
    Desk,
    Loader,
    by_id,
    live,
)


def rate_headers(answers: list[requests.Response]) -> list[tuple[int, str, str, str]]:
    """Each answer's status and Freshdesk's three rate-limit headers."""
    return [
        (
            r.status_code,
            r.headers["X-RateLimit-Total"],
            r.headers["X-RateLimit-Remaining"],
            r.headers["X-RateLimit-Used-CurrentRequest"],
        )
        for r in answers
    ]


def test_every_answer_carries_the_rate_limit_headers(desk: Desk) -> None:
    desk.sandbox.set_faults({"name": "desk_clock", "frozen": 1})
    answers = [
        desk.get(updated_since=EPOCH),
        desk.get(f"{TICKETS_PATH}/1/conversations"),
        desk.get(updated_since="soon"),
        desk.get(f"{TICKETS_PATH}/999999/conversations"),
    ]
    desk.session.auth = ("wrong", "X")
    answers.append(desk.get(updated_since=EPOCH))
    headers = rate_headers(answers)
    assert headers == [
        (200, "200", "199", "1"),
        (200, "200", "198", "1"),
        (400, "200", "197", "1"),
        (404, "200", "196", "1"),
        (401, "200", "196", "0"),
    ]


def test_rate_limit_answers_429_with_retry_after_in_seconds(desk: Desk) -> None:
    desk.sandbox.set_faults({"name": "rate_limit", "ratio": 1.0, "retry_after": 7})
    statuses = []
    for page in (1, 2, 3):
        while (response := desk.get(updated_since=EPOCH, page=page)).status_code == 429:
            assert response.headers["Retry-After"] == "7"
            assert response.json() == {
                "message": "You have exceeded the limit of requests per minute"
            }
            assert response.headers["X-RateLimit-Remaining"] == "0"
            statuses.append(429)
        statuses.append(response.status_code)
    throttled = statuses.count(429)
    assert statuses.count(200) == 3 and 3 <= throttled <= 6
    assert desk.sandbox.stats()["faults_injected"] == {"rate_limit": throttled}


def test_server_errors_and_outages_answer_5xx_then_recover(desk: Desk) -> None:
    desk.sandbox.set_faults({"name": "server_errors", "ratio": 1.0, "burst": 2})
    path = f"{TICKETS_PATH}/1/conversations"
    statuses = [desk.get(path).status_code for _ in range(3)]
    assert all(500 <= s <= 504 for s in statuses[:2]) and statuses[2] == 200
    desk.sandbox.set_faults({"name": "outage", "requests": 2})
    statuses = [desk.get(updated_since=EPOCH).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


def test_live_updates_move_a_passed_record_to_the_end_and_a_page_client_skips_one(
    desk: Desk, truth: list[dict[str, Any]]
) -> None:
    params = {**LOADER, "updated_since": EPOCH, "per_page": 50}
    order = [t["id"] for t in desk.follow(**params)]
    desk.sandbox.set_faults("live_updates")
    first = [t["id"] for t in desk.ok(**params, page=1)]
    second = [t["id"] for t in desk.ok(**params, page=2)]
    assert first == order[:50]
    after = [t["id"] for t in live(desk.sandbox.truth("tickets"))]
    moved = after[-1]
    assert moved in first and moved != order[-1]
    assert second == order[51:101]  # order[50] slid onto page 1, which the client has read
    assert desk.sandbox.stats()["faults_injected"] == {"live_updates": 1}


def test_a_page_number_client_misses_records_under_churn_and_the_re_seeking_loader_does_not(
    desk: Desk,
) -> None:
    desk.sandbox.set_faults({"name": "live_updates", "per_page": 2})
    params = {**LOADER, "updated_since": EPOCH}
    paged = {t["id"] for t in desk.follow(**params)}
    expected = {t["id"] for t in live(desk.sandbox.truth("tickets"))}
    moves = desk.sandbox.stats()["faults_injected"]["live_updates"]
    assert moves > 0 and len(expected - paged) > 0  # page numbers skipped moved records
    loader = Loader(desk)
    loader.run()
    assert by_id(list(loader.tickets.values())) == by_id(desk.sandbox.truth("tickets"))
    # The re-seeking loader met churn too: records before its `updated_since` moved.
    assert desk.sandbox.stats()["faults_injected"]["live_updates"] > moves


def test_rate_budget_counts_credits_and_answers_freshdesks_429(desk: Desk) -> None:
    # Five credits a window: a list with `include` costs 3, a conversations page 1.
    desk.sandbox.set_faults({"name": "rate_budget", "per_minute": 10, "window": 30})
    answers = [
        desk.get(updated_since=EPOCH, include="description"),
        desk.get(f"{TICKETS_PATH}/1/conversations"),
        desk.get(updated_since=EPOCH, include="description"),
        desk.get(f"{TICKETS_PATH}/1/conversations"),
        desk.get(f"{TICKETS_PATH}/1/conversations"),
    ]
    headers = rate_headers(answers)
    assert headers == [
        (200, "5", "2", "3"),
        (200, "5", "1", "1"),
        (429, "5", "0", "0"),
        (200, "5", "0", "1"),
        (429, "5", "0", "0"),
    ]
    refused = answers[2]
    assert refused.json() == {"message": "You have exceeded the limit of requests per minute"}
    assert 1 <= int(refused.headers["Retry-After"]) <= 30
    assert desk.sandbox.stats()["faults_injected"] == {"rate_budget": 2}


def test_a_hidden_rate_budget_sends_no_rate_limit_header(desk: Desk) -> None:
    desk.sandbox.set_faults({"name": "rate_budget", "per_minute": 2, "window": 30, "advertised": 0})
    answers = [desk.get(f"{TICKETS_PATH}/1/conversations") for _ in range(2)]
    assert [r.status_code for r in answers] == [200, 429]
    assert "Retry-After" in answers[1].headers
    for response in answers:
        assert not [name for name in response.headers if "ratelimit" in name.lower()]
