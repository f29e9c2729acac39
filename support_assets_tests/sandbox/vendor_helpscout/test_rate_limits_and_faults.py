"""The helpscout emulator: rate limits and faults."""

from support_assets_tests.sandbox.vendor_helpscout.desk import (
    LIST,
    LOADER,
    HelpScout,
    by_id,
    split,
)


def test_every_data_response_carries_the_minute_rate_limit_headers(desk: HelpScout) -> None:
    responses = [desk.get(), desk.get(status="nope")]
    del desk.session.headers["Authorization"]
    responses.append(desk.get(f"{LIST}/1/threads"))
    assert [r.status_code for r in responses] == [200, 400, 401]
    remaining = []
    for response in responses:
        assert response.headers["X-RateLimit-Limit-Minute"] == "400"
        remaining.append(int(response.headers["X-RateLimit-Remaining-Minute"]))
        assert "Retry-After" not in response.headers
    assert all(0 < left < 400 for left in remaining)


def test_rate_limit_answers_429_with_help_scouts_retry_header_only(desk: HelpScout) -> None:
    desk.sandbox.set_faults({"name": "rate_limit", "ratio": 1.0, "retry_after": 2})
    limited = 0
    for number in range(1, 6):
        statuses = []
        while not statuses or statuses[-1] != 200:
            response = desk.get(status="all", page=number)
            statuses.append(response.status_code)
            if response.status_code == 429:
                limited += 1
                assert response.json() == {"message": "Too many requests"}
                assert response.headers["X-RateLimit-Retry-After"] == "2"
                assert response.headers["X-RateLimit-Remaining-Minute"] == "0"
                assert response.headers["X-RateLimit-Limit-Minute"] == "400"
                assert "Retry-After" not in response.headers
        assert statuses[:-1] == [429] * (len(statuses) - 1) and len(statuses) in (2, 3)
    assert desk.sandbox.stats()["faults_injected"] == {"rate_limit": limited}


def test_server_errors_answer_5xx_then_the_page(desk: HelpScout) -> None:
    desk.sandbox.set_faults({"name": "server_errors", "ratio": 1.0})
    for number in range(1, 6):
        first = desk.get(status="all", page=number)
        assert first.status_code in (500, 502, 503, 504)
        retries = [desk.get(status="all", page=number).status_code for _ in range(2)]
        assert 200 in retries


def test_outage_answers_503_for_the_first_requests(desk: HelpScout) -> None:
    desk.sandbox.set_faults({"name": "outage", "requests": 2})
    assert [desk.get().status_code for _ in range(3)] == [503, 503, 200]


def test_live_updates_make_page_numbers_skip_conversations(desk: HelpScout) -> None:
    truth = desk.sandbox.truth("tickets")
    desk.sandbox.set_faults("live_updates")
    first = desk.page(**LOADER)["_embedded"]["conversations"]
    second = desk.page(**LOADER, page=2)["_embedded"]["conversations"]
    after = desk.sandbox.truth("tickets")
    moved = after[-1]
    position = [c["id"] for c in truth].index(moved["id"])
    assert position < 25 and moved["userUpdatedAt"] > truth[-1]["userUpdatedAt"]
    assert [c["id"] for c in first] == [c["id"] for c in truth[:25]]
    assert [c["id"] for c in second] == [c["id"] for c in truth if c["id"] != moved["id"]][25:50]
    assert desk.sandbox.stats()["faults_injected"] == {"live_updates": 1}


def test_live_updates_lose_records_by_page_number_but_not_by_re_seeking(desk: HelpScout) -> None:
    desk.sandbox.set_faults("live_updates")
    by_number = {c["id"] for c in desk.walk(**LOADER)}
    assert len(by_number) < len(desk.sandbox.truth("tickets"))
    desk.sandbox.reset(faults=["live_updates"])
    desk.login()
    merged, _ = desk.load()
    tickets, comments = split(list(merged.values()))
    assert by_id(tickets) == by_id(desk.sandbox.truth("tickets"))
    assert by_id(comments) == by_id(desk.sandbox.truth("comments"))


def test_rate_budget_answers_help_scouts_429_past_its_window(desk: HelpScout) -> None:
    desk.sandbox.set_faults({"name": "rate_budget", "per_minute": 4, "window": 30})  # 2
    responses = [desk.get(status="all", page=page) for page in (1, 2, 3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining-Minute"] for r in responses] == ["1", "0", "0"]
    assert {r.headers["X-RateLimit-Limit-Minute"] for r in responses} == {"2"}
    refused = responses[-1]
    assert refused.json() == {"message": "Too many requests"}
    assert 1 <= int(refused.headers["X-RateLimit-Retry-After"]) <= 30
    assert "Retry-After" not in refused.headers
    assert desk.sandbox.stats()["faults_injected"] == {"rate_budget": 1}


def test_a_hidden_rate_budget_sends_no_rate_limit_header(desk: HelpScout) -> None:
    desk.sandbox.set_faults({"name": "rate_budget", "per_minute": 2, "window": 30, "advertised": 0})
    responses = [desk.get(status="all", page=page) for page in (1, 2)]
    assert [r.status_code for r in responses] == [200, 429]
    assert "X-RateLimit-Retry-After" in responses[1].headers
    assert "X-RateLimit-Remaining-Minute" not in responses[0].headers
    assert "X-RateLimit-Limit-Minute" not in responses[1].headers
