"""Each sandbox fault does what it says, the same way for the same seed."""

import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest
import requests

from support_assets.sandbox import SandboxError, SandboxServer
from support_assets_tests.sandbox.sandbox_fixtures import TICKETS, Api

URLS = [{"offset": offset, "limit": 10} for offset in range(0, 300, 10)]  # 30 distinct URLs


def until_ok(api: Api, resource: str = "tickets", **params: object) -> list[requests.Response]:
    """Request one URL until it answers 200, as a client retrying 3 times would."""
    responses = [api.get(resource, **params)]
    while responses[-1].status_code != 200:
        assert len(responses) <= 3, [r.status_code for r in responses]
        responses.append(api.get(resource, **params))
    return responses


def status_runs(api: Api) -> list[tuple[int, ...]]:
    return [tuple(r.status_code for r in until_ok(api, **url)) for url in URLS]


def retry_after_form(value: str) -> str:
    if value == "0":
        return "zero"
    if value.isdigit():
        return "seconds"
    parsedate_to_datetime(value)
    return "http_date"


def test_rate_limit_answers_bursts_of_429_with_every_retry_after_form(api: Api) -> None:
    api.sandbox.set_faults({"name": "rate_limit", "ratio": 1.0, "retry_after": 2})
    limited = []
    for url in URLS:
        *failures, ok = until_ok(api, **url)
        assert 1 <= len(failures) <= 2 and ok.json()["total"] == TICKETS
        limited += failures
    assert {(r.status_code, r.text) for r in limited} == {(429, '{"error":"rate_limited"}')}
    forms = {retry_after_form(r.headers["Retry-After"]) for r in limited}
    assert forms == {"seconds", "zero", "http_date"}
    assert {r.headers["Retry-After"] for r in limited if r.headers["Retry-After"].isdigit()} == {
        "0",
        "2",
    }
    for response in limited:
        if retry_after_form(response.headers["Retry-After"]) == "http_date":
            ahead = parsedate_to_datetime(response.headers["Retry-After"]) - datetime.now(UTC)
            assert 0 < ahead.total_seconds() <= 3
    assert api.sandbox.stats()["faults_injected"] == {"rate_limit": len(limited)}


def test_server_errors_answer_up_to_two_5xx_with_json_html_or_empty_bodies(api: Api) -> None:
    api.sandbox.set_faults({"name": "server_errors", "ratio": 1.0})
    failures = []
    for url in URLS:
        *failed, _ = until_ok(api, **url)
        assert 1 <= len(failed) <= 2
        failures += failed
    assert {r.status_code for r in failures} == {500, 502, 503, 504}
    kinds = {
        "empty" if not r.content else r.headers["content-type"].split(";")[0] for r in failures
    }
    assert kinds == {"empty", "application/json", "text/html"}
    assert api.sandbox.stats()["faults_injected"] == {"server_errors": len(failures)}


def test_rate_limits_and_server_errors_together_still_fail_a_url_at_most_twice(api: Api) -> None:
    api.sandbox.set_faults(
        {"name": "rate_limit", "ratio": 1.0}, {"name": "server_errors", "ratio": 1.0}
    )
    runs = status_runs(api)
    assert all(len(run) in (2, 3) for run in runs)
    assert any(429 in run and run[1] >= 500 for run in runs)


@pytest.mark.parametrize("fault", ["rate_limit", "server_errors"])
def test_transient_faults_repeat_for_a_seed_and_move_with_another(
    sandbox: SandboxServer, api: Api, fault: str
) -> None:
    sandbox.reset(seed=11, faults=[fault])
    api.login()
    first = status_runs(api)
    failed = sum(len(run) - 1 for run in first)
    assert sandbox.stats()["faults_injected"] == {fault: failed}
    assert 0 < sum(1 for run in first if len(run) > 1) < len(URLS)
    sandbox.reset(seed=11, faults=[fault])
    api.login()
    assert status_runs(api) == first
    sandbox.reset(seed=12, faults=[fault])
    api.login()
    assert status_runs(api) != first


def test_token_revoke_revokes_every_token_after_every_nth_page(api: Api) -> None:
    api.sandbox.set_faults({"name": "token_revoke", "every": 3})
    statuses = []
    for offset in range(0, 80, 10):
        response = api.get("tickets", offset=offset, limit=10)
        if response.status_code == 401:
            api.login()
            response = api.get("tickets", offset=offset, limit=10)
            statuses.append(401)
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 401, 200, 200, 200, 401, 200, 200]
    assert api.sandbox.stats()["faults_injected"] == {"token_revoke": 2}


def test_token_early_expiry_kills_tokens_long_before_expires_in(api: Api) -> None:
    api.sandbox.set_faults({"name": "token_early_expiry", "lifetime": 0.3})
    issued = time.monotonic()
    response = api.token()
    api.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    assert response.json()["expires_in"] == 3600
    while (status := api.get("tickets", limit=1).status_code) == 200:
        assert time.monotonic() - issued < 5, "the token outlived its early expiry"
        time.sleep(0.02)
    assert status == 401 and time.monotonic() - issued >= 0.3
    assert api.sandbox.stats()["faults_injected"] == {"token_early_expiry": 1}


def test_live_updates_move_a_record_from_before_the_offset_and_shift_the_rest(api: Api) -> None:
    before = api.sandbox.truth("tickets")
    api.sandbox.set_faults("live_updates")
    assert api.page("tickets", offset=0, limit=50)["tickets"] == before[:50]  # offset 0: none
    second = api.page("tickets", offset=50, limit=50)["tickets"]
    after = api.sandbox.truth("tickets")
    moved = after[-1]["id"]
    position = [r["id"] for r in before].index(moved)
    assert position < 50 and after[-1]["updated_at"] > before[position]["updated_at"]
    assert second == [r for r in before if r["id"] != moved][50:100]
    assert api.sandbox.stats()["faults_injected"] == {"live_updates": 1}


def test_live_updates_take_records_out_of_a_window_that_ends_before_now(api: Api) -> None:
    truth = api.sandbox.truth("tickets")
    before = truth[200]["updated_at"]
    window = [r for r in truth if r["updated_at"] < before]
    api.sandbox.set_faults({"name": "live_updates", "per_page": 2})
    page = api.page("tickets", offset=100, limit=100, updated_before=before)
    assert page["total"] == len(window) - 2
    api.sandbox.clear_faults()
    remaining = {r["id"] for r in api.all_pages("tickets", updated_before=before)}
    gone = [r["id"] for r in window if r["id"] not in remaining]
    assert len(gone) == 2 and len(remaining) == len(window) - 2
    assert sorted(r["id"] for r in api.sandbox.truth("tickets")[-2:]) == sorted(gone)


def test_live_updates_pick_the_same_records_for_the_same_seed(sandbox: SandboxServer) -> None:
    moved = []
    for _ in range(2):
        sandbox.reset(seed=5, faults=[{"name": "live_updates", "per_page": 3}])
        client = Api(sandbox)
        client.login()
        client.page("tickets", offset=120, limit=10)
        moved.append([r["id"] for r in sandbox.truth("tickets")[-3:]])
        client.close()
    assert moved[0] == moved[1]


def test_schema_drift_changes_old_and_new_records_after_n_pages(api: Api) -> None:
    api.sandbox.set_faults({"name": "schema_drift", "after_pages": 2})
    plain = [api.page("tickets", limit=5)["tickets"][0] for _ in range(2)]
    assert all(isinstance(t["requester_id"], int) and "via_channel" not in t for t in plain)
    ticket = api.page("tickets", limit=5)["tickets"][0]
    comment = api.page("comments", limit=5)["comments"][0]
    assert ticket["requester_id"] == f"u-{plain[0]['requester_id']}"
    assert isinstance(ticket["satisfaction_rating"], dict) and isinstance(
        ticket["via_channel"], str
    )
    assert isinstance(comment["attachments"], list) and isinstance(comment["via_channel"], str)
    (new,) = api.sandbox.create("tickets", 1)
    assert isinstance(api.sandbox.truth("tickets")[-1]["requester_id"], str)
    assert api.sandbox.stats()["faults_injected"] == {"schema_drift": 2}
    assert new == TICKETS + 1


@pytest.mark.parametrize("resource", ["tickets", "comments"])
def test_malformed_page_answers_200_html_at_its_offset(api: Api, resource: str) -> None:
    api.sandbox.set_faults({"name": "malformed_page", "offset": 50})
    assert api.get(resource, offset=0, limit=50).json()[resource]
    for limit in (50, 10):
        response = api.get(resource, offset=50, limit=limit)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        with pytest.raises(requests.JSONDecodeError):
            response.json()
    assert api.sandbox.stats()["faults_injected"] == {"malformed_page": 2}


@pytest.mark.parametrize("resource", ["tickets", "comments"])
def test_missing_data_key_answers_200_json_without_the_data_key(api: Api, resource: str) -> None:
    api.sandbox.set_faults({"name": "missing_data_key", "offset": 50})
    body = api.page(resource, offset=50, limit=25)
    total = len(api.sandbox.truth(resource))
    assert body == {"total": total, "offset": 50, "limit": 25}
    assert resource in api.page(resource, offset=75, limit=25)


def test_missing_id_leaves_out_the_id_of_the_same_records_every_time(api: Api) -> None:
    api.sandbox.set_faults({"name": "missing_id", "ratio": 0.1})
    passes = [api.all_pages("tickets", limit=100) for _ in range(2)]
    holes = [[i for i, r in enumerate(records) if "id" not in r] for records in passes]
    assert holes[0] == holes[1] and 0 < len(holes[0]) < TICKETS // 4
    assert api.sandbox.stats()["faults_injected"] == {"missing_id": 2 * len(holes[0])}
    truth = api.sandbox.truth("tickets")
    assert all("id" in r for r in truth)
    assert [{k: v for k, v in r.items() if k != "id"} for r in truth] == [
        {k: v for k, v in r.items() if k != "id"} for r in passes[0]
    ]


def test_slow_delays_each_data_response(api: Api) -> None:
    api.sandbox.set_faults({"name": "slow", "delay": 0.25})
    started = time.monotonic()
    assert api.get("tickets", limit=1).status_code == 200
    assert time.monotonic() - started >= 0.25
    assert api.sandbox.stats()["faults_injected"] == {"slow": 1}


def test_faults_spare_the_token_endpoint_and_refused_requests(api: Api) -> None:
    api.sandbox.set_faults(
        {"name": "rate_limit", "ratio": 1.0}, {"name": "server_errors", "ratio": 1.0}
    )
    assert api.token().status_code == 200
    assert api.get("tickets", limit=101).status_code == 400
    api.session.headers.pop("Authorization")
    assert api.get("tickets").status_code == 401
    assert api.sandbox.stats()["faults_injected"] == {}


@pytest.mark.parametrize(
    "fault",
    [
        "earthquake",
        {"name": "rate_limit", "ratio": 1.5},
        {"name": "slow", "pause": 1},
        {"name": "token_revoke", "every": 0},
        {"name": "missing_id", "ratio": "lots"},
    ],
    ids=["unknown_name", "ratio_above_1", "unknown_parameter", "every_zero", "not_a_number"],
)
def test_set_faults_refuses_bad_specs_and_keeps_the_active_ones(api: Api, fault) -> None:
    api.sandbox.set_faults("slow")
    with pytest.raises(SandboxError, match="400"):
        api.sandbox.set_faults(fault)
    assert [f["name"] for f in api.sandbox.health()["faults"]] == ["slow"]


def test_clear_faults_brings_back_clean_pages(api: Api) -> None:
    api.sandbox.set_faults({"name": "server_errors", "ratio": 1.0})
    assert api.get("tickets").status_code >= 500
    api.sandbox.clear_faults()
    assert api.get("tickets").status_code == 200


def test_desk_clock_sets_the_date_header_and_the_stamps_behind_it(api: Api) -> None:
    # A frozen desk clock an hour behind ours, stamping changes 5 seconds late: the Date
    # header and the stamps follow the desk's clock, not the machine's.
    api.sandbox.set_faults({"name": "desk_clock", "offset": -3600, "late": 5, "frozen": 1})
    dates = {api.get("tickets", limit=1).headers["Date"] for _ in range(3)}
    [date] = dates
    desk = parsedate_to_datetime(date)
    assert desk.timestamp() < time.time() - 3500

    [ident] = api.sandbox.update("tickets", 1)

    [record] = [r for r in api.sandbox.truth("tickets") if r["id"] == ident]
    stamp = datetime.fromisoformat(record["updated_at"].replace("Z", "+00:00"))
    assert desk.timestamp() - stamp.timestamp() == 5


def test_live_updates_under_a_late_desk_clock_move_records_into_a_past_window(api: Api) -> None:
    truth = api.sandbox.truth("tickets")
    newest = datetime.fromisoformat(truth[-1]["updated_at"].replace("Z", "+00:00"))
    late = int(time.time() - newest.timestamp()) + 10  # stamps land before the newest record
    api.sandbox.set_faults(
        {"name": "live_updates", "per_page": 1}, {"name": "desk_clock", "late": late}
    )
    before = truth[-1]["updated_at"]
    window = api.page("tickets", offset=0, limit=1, updated_before=before)["total"]

    api.page("tickets", offset=100, limit=100, updated_before=before)

    # The moved record left its place and came back inside the same window: same total.
    assert api.page("tickets", offset=0, limit=1, updated_before=before)["total"] == window
    assert api.sandbox.stats()["faults_injected"] == {"live_updates": 1}


def test_an_outage_after_n_requests_serves_n_then_fails_the_next_ones(api: Api) -> None:
    api.sandbox.set_faults({"name": "outage", "after": 3, "requests": 2})

    statuses = [api.get("tickets", offset=0, limit=10).status_code for _ in range(6)]

    assert statuses == [200, 200, 200, 503, 503, 200]
