"""The Zendesk emulator: Zendesk's auth, exports, errors and limits over the sandbox's data."""

import base64
import calendar
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from support_assets.sandbox import SandboxServer
from support_assets_tests.sandbox.sandbox_fixtures import ANCHOR, COMMENTS, TICKETS, small_sandbox

EMAIL, SECRET = "sandbox-client", "sandbox-secret"
API_TOKEN = (f"{EMAIL}/token", SECRET)
TICKETS_PATH = "/api/v2/incremental/tickets/cursor.json"
EVENTS_PATH = "/api/v2/incremental/ticket_events.json"
NO_AUTH = {"error": "Couldn't authenticate you"}
ANCHOR_EPOCH = calendar.timegm(time.strptime(ANCHOR, "%Y-%m-%dT%H:%M:%SZ"))
FROZEN = {"name": "desk_clock", "frozen": 1}  # one desk second for the whole test


class Desk:
    """A keep-alive client of the emulated desk, signed in with an API token by default."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.trust_env = False  # loopback: no proxies from the environment
        self.session.auth = API_TOKEN
        self.bare = requests.Session()  # no credentials of its own
        self.bare.trust_env = False

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.server.url + path, params=params, timeout=10)

    def ok(self, url: str, **params: Any) -> dict[str, Any]:
        response = self.session.get(url, params=params, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def token(self, **kwargs: Any) -> requests.Response:
        return self.bare.post(self.server.url + "/oauth/tokens", timeout=10, **kwargs)

    def bearer(self) -> dict[str, str]:
        """An Authorization header with a fresh OAuth token."""
        form = {"grant_type": "client_credentials", "client_id": EMAIL, "client_secret": SECRET}
        return {"Authorization": f"Bearer {self.token(json=form).json()['access_token']}"}

    def ticket_pages(self, **params: Any) -> list[dict[str, Any]]:
        """Every page of the ticket export, following `after_url` until `end_of_stream`."""
        pages = [self.ok(self.server.url + TICKETS_PATH, **params)]
        while not pages[-1]["end_of_stream"]:
            pages.append(self.ok(pages[-1]["after_url"]))
        return pages

    def event_pages(self, **params: Any) -> list[dict[str, Any]]:
        """Every page of the ticket-event export, following `next_page` until `end_of_stream`."""
        pages = [self.ok(self.server.url + EVENTS_PATH, **params)]
        while not pages[-1]["end_of_stream"]:
            pages.append(self.ok(pages[-1]["next_page"]))
        return pages


def tickets_of(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [ticket for page in pages for ticket in page["tickets"]]


def comments_of(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The comment rows a loader keeps: each Comment child plus its event's ticket_id."""
    return [
        {**child, "ticket_id": event["ticket_id"]}
        for page in pages
        for event in page["ticket_events"]
        for child in event["child_events"]
        if child["event_type"] == "Comment"
    ]


def merged(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge on id, the last version winning, in the order of each id's last appearance."""
    by_id: dict[int, dict[str, Any]] = {}
    for row in rows:
        by_id.pop(row["id"], None)
        by_id[row["id"]] = row
    return list(by_id.values())


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def zendesk() -> Iterator[SandboxServer]:
    with small_sandbox(vendor="zendesk") as server:
        yield server


@pytest.fixture
def desk(zendesk: SandboxServer) -> Iterator[Desk]:
    """A client of the emulator on freshly reset data."""
    zendesk.reset()
    client = Desk(zendesk)
    yield client
    client.session.close()
    client.bare.close()


# --- auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, basic(EMAIL, SECRET), basic(f"{EMAIL}/token", "wrong"), "Token " + SECRET],
    ids=["missing", "email_without_token_suffix", "wrong_api_token", "other_scheme"],
)
def test_refused_credentials_get_couldnt_authenticate_you(desk: Desk, authorization) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    url = desk.server.url + TICKETS_PATH
    response = desk.bare.get(url, params={"start_time": 0}, headers=headers, timeout=10)
    assert (response.status_code, response.json()) == (401, NO_AUTH)


@pytest.mark.parametrize("encoding", ["json", "data"])
def test_oauth_client_credentials_grant_a_bearer_token_for_the_exports(
    desk: Desk, encoding: str
) -> None:
    form = {"grant_type": "client_credentials", "client_id": EMAIL, "client_secret": SECRET}
    response = desk.token(**{encoding: {**form, "scope": "read"}})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert {key: body[key] for key in ("token_type", "scope", "expires_in")} == {
        "token_type": "bearer",
        "scope": "read",
        "expires_in": 3600,
    }
    url = desk.server.url + TICKETS_PATH
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    response = desk.bare.get(url, params={"start_time": 0}, headers=bearer, timeout=10)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"grant_type": "client_credentials", "client_secret": "x"}, 401, "invalid_client"),
        ({"grant_type": "client_credentials", "client_secret": None}, 401, "invalid_client"),
        ({"client_secret": SECRET}, 400, "invalid_request"),
        ({"grant_type": "password", "client_secret": SECRET}, 400, "unsupported_grant_type"),
    ],
    ids=["wrong_secret", "no_client", "no_grant_type", "password_grant"],
)
def test_token_endpoint_refuses_bad_clients_and_grants(desk: Desk, form, status, error) -> None:
    response = desk.token(json={"client_id": EMAIL, **form})
    assert (response.status_code, response.json()["error"]) == (status, error)


def test_revoked_bearer_tokens_get_invalid_token_while_api_tokens_stay_valid(desk: Desk) -> None:
    desk.server.set_faults({"name": "token_revoke", "every": 1})
    bearer, url, params = desk.bearer(), desk.server.url + TICKETS_PATH, {"start_time": 0}
    first = desk.bare.get(url, params=params, headers=bearer, timeout=10)
    second = desk.bare.get(url, params=params, headers=bearer, timeout=10)
    assert first.status_code == 200
    assert (second.status_code, second.json()["error"]) == (401, "invalid_token")
    assert "error_description" in second.json()
    assert desk.get(TICKETS_PATH, start_time=0, per_page=1).status_code == 200  # a static token
    assert desk.server.stats()["faults_injected"] == {"token_revoke": 2}


def test_early_expiry_kills_bearer_tokens_but_not_api_tokens(desk: Desk) -> None:
    desk.server.set_faults({"name": "token_early_expiry", "lifetime": 0})
    url, params = desk.server.url + TICKETS_PATH, {"start_time": 0, "per_page": 1}
    response = desk.bare.get(url, params=params, headers=desk.bearer(), timeout=10)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_token")
    assert desk.get(TICKETS_PATH, **params).status_code == 200
    assert desk.server.stats()["faults_injected"] == {"token_early_expiry": 1}


@pytest.mark.parametrize("path", [TICKETS_PATH, EVENTS_PATH], ids=["tickets", "events"])
def test_the_json_suffix_is_optional(desk: Desk, path: str) -> None:
    with_suffix = desk.ok(desk.server.url + path, start_time=0, per_page=3)
    assert desk.ok(desk.server.url + path.removesuffix(".json"), start_time=0, per_page=3) == (
        with_suffix
    )


def test_the_reference_contracts_routes_are_not_served(desk: Desk) -> None:
    assert desk.get("/v1/tickets").status_code == 404
    assert desk.token(data={"grant_type": "client_credentials"}).status_code == 401
    assert desk.bare.post(desk.server.url + "/oauth/token", timeout=10).status_code == 404


# --- the ticket export ---------------------------------------------------------------------


def test_cursor_export_of_an_unchanged_desk_yields_exactly_the_truth(desk: Desk) -> None:
    pages = desk.ticket_pages(start_time=0, per_page=100)
    assert [page["end_of_stream"] for page in pages] == [False, False, True]
    assert [len(page["tickets"]) for page in pages] == [100, 100, TICKETS - 200]
    assert tickets_of(pages) == desk.server.truth("tickets")
    assert set(pages[0]) == {
        "tickets",
        "after_url",
        "after_cursor",
        "before_url",
        "before_cursor",
        "end_of_stream",
    }
    assert all(page["after_url"].endswith("cursor=" + page["after_cursor"]) for page in pages)
    assert all("per_page=100" in page["after_url"] for page in pages)
    stats = desk.server.stats()
    assert stats["requests"] == {f"GET {TICKETS_PATH}": {"200": 3}}
    assert stats["records_served"]["tickets"] == TICKETS


def test_tickets_carry_zendesks_fields_and_order(desk: Desk) -> None:
    tickets = tickets_of(desk.ticket_pages(start_time=0))
    assert list(tickets[0]) == [
        "id",
        "created_at",
        "updated_at",
        "generated_timestamp",
        "subject",
        "raw_subject",
        "description",
        "priority",
        "status",
        "requester_id",
        "assignee_id",
        "tags",
        "custom_fields",
    ]
    for ticket in tickets:
        stamp = calendar.timegm(time.strptime(ticket["updated_at"], "%Y-%m-%dT%H:%M:%SZ"))
        assert ticket["generated_timestamp"] == stamp
        assert [field["id"] for field in ticket["custom_fields"]] == [
            360001000001,
            360001000002,
            360001000003,
            360001000004,
            360001000005,
        ]
    order = [(ticket["generated_timestamp"], ticket["id"]) for ticket in tickets]
    assert order == sorted(order) and len(tickets) == TICKETS


def test_idle_refresh_from_the_last_cursor_is_one_empty_page_with_the_same_cursor(
    desk: Desk,
) -> None:
    last = desk.ticket_pages(start_time=0)[-1]
    desk.server.reset_stats()
    page = desk.ok(last["after_url"])
    assert page["tickets"] == [] and page["end_of_stream"] is True
    assert (page["after_cursor"], page["after_url"]) == (last["after_cursor"], last["after_url"])
    assert desk.server.stats()["requests"] == {f"GET {TICKETS_PATH}": {"200": 1}}


def test_refresh_reads_a_change_made_later_in_the_live_second_to_a_lower_id(desk: Desk) -> None:
    desk.server.set_faults(FROZEN)
    cursor = desk.ticket_pages(start_time=0)[-1]["after_cursor"]
    desk.server.update("tickets", ids=[200])
    first = desk.ok(desk.server.url + TICKETS_PATH, cursor=cursor)
    assert [ticket["id"] for ticket in first["tickets"]] == [200] and first["end_of_stream"]
    desk.server.update("tickets", ids=[5])  # the same desk second, an id before 200
    second = desk.ok(first["after_url"])
    assert [ticket["id"] for ticket in second["tickets"]] == [5, 200]
    assert second["after_cursor"] == first["after_cursor"]  # still the end of the second before


def test_start_time_selects_tickets_generated_at_or_after_it(desk: Desk) -> None:
    truth = desk.server.truth("tickets")
    start = truth[100]["generated_timestamp"]
    expected = [ticket for ticket in truth if ticket["generated_timestamp"] >= start]
    assert tickets_of(desk.ticket_pages(start_time=start, per_page=50)) == expected
    assert len(expected) == TICKETS - next(
        i for i, ticket in enumerate(truth) if ticket["generated_timestamp"] == start
    )


def test_a_start_time_that_finds_nothing_answers_null_cursors(desk: Desk) -> None:
    newest = desk.server.truth("tickets")[-1]["generated_timestamp"]
    page = desk.ok(desk.server.url + TICKETS_PATH, start_time=newest + 1)
    assert page == {
        "tickets": [],
        "after_url": None,
        "after_cursor": None,
        "before_url": None,
        "before_cursor": None,
        "end_of_stream": True,
    }


def test_exclude_deleted_drops_deleted_tickets_that_the_export_otherwise_keeps(
    desk: Desk,
) -> None:
    desk.server.delete("tickets", ids=[3, 9])
    everything = tickets_of(desk.ticket_pages(start_time=0, per_page=40))
    pages = desk.ticket_pages(start_time=0, per_page=40, exclude_deleted="true")
    assert {t["id"]: t["status"] for t in everything if t["id"] in (3, 9)} == {
        3: "deleted",
        9: "deleted",
    }
    assert tickets_of(pages) == [t for t in everything if t["status"] != "deleted"]
    assert len(everything) == TICKETS
    assert all("exclude_deleted=true" in page["after_url"] for page in pages)


@pytest.mark.parametrize("path", [TICKETS_PATH, EVENTS_PATH], ids=["tickets", "events"])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"start_time": "yesterday"},
        {"start_time": "-1"},
        {"start_time": "1.5"},
        {"start_time": 0, "per_page": "0"},
        {"start_time": 0, "per_page": "1001"},
    ],
    ids=["no_start_time", "word", "negative", "fraction", "per_page_0", "per_page_1001"],
)
def test_malformed_export_parameters_get_400_invalid_value(desk: Desk, path: str, params) -> None:
    response = desk.get(path, **params)
    assert (response.status_code, response.json()["error"]) == (400, "InvalidValue")
    assert response.headers["X-Rate-Limit"] == "700"


@pytest.mark.parametrize(
    "cursor", ["garbage!", base64.b64encode(b"12.5||x|").decode()], ids=["garbage", "not_ours"]
)
def test_a_cursor_this_desk_never_gave_gets_400_invalid_value(desk: Desk, cursor: str) -> None:
    response = desk.get(TICKETS_PATH, cursor=cursor)
    assert (response.status_code, response.json()["error"]) == (400, "InvalidValue")


@pytest.mark.parametrize("path", [TICKETS_PATH, EVENTS_PATH], ids=["tickets", "events"])
@pytest.mark.parametrize("ahead", [-30, 3600], ids=["half_a_minute_ago", "an_hour_ahead"])
def test_a_start_time_in_the_last_minute_or_the_future_is_too_recent(
    desk: Desk, path: str, ahead: int
) -> None:
    response = desk.get(path, start_time=int(time.time()) + ahead)
    assert response.status_code == 400
    assert response.json() == {
        "error": "StartTimeTooRecent",
        "description": "Too recent start_time. Use a start_time older than 1 minute",
    }


# --- the ticket-event export (comments) ------------------------------------------------------


def test_event_export_of_an_unchanged_desk_yields_the_truth_with_boundary_duplicates(
    desk: Desk,
) -> None:
    pages = desk.event_pages(start_time=0, per_page=100, include="comment_events")
    rows = comments_of(pages)
    truth = desk.server.truth("comments")
    assert list({row["id"]: row for row in rows}.values()) == truth and len(truth) == COMMENTS
    # next_page starts at end_time, inclusive: the events of that second come again.
    repeated = sum(
        sum(event["timestamp"] == page["end_time"] for event in page["ticket_events"])
        for page in pages[:-1]
    )
    assert len(rows) == COMMENTS + repeated and repeated > 0
    assert [page["count"] for page in pages[:-1]] == [100] * (len(pages) - 1)
    kept = "per_page=100&include=comment_events&start_time="
    assert all(page["next_page"].endswith(f"{kept}{page['end_time']}") for page in pages)
    assert set(pages[0]) == {"ticket_events", "count", "end_time", "next_page", "end_of_stream"}
    event = pages[0]["ticket_events"][0]
    assert event["child_events"][0]["audit_id"] == event["id"]


def test_events_without_the_comment_side_load_carry_only_comment_flags(desk: Desk) -> None:
    page = desk.ok(desk.server.url + EVENTS_PATH, start_time=0, per_page=5)
    truth = desk.server.truth("comments")[:5]
    children = [event["child_events"][0] for event in page["ticket_events"]]
    assert [(c["id"], c["comment_present"], c["comment_public"]) for c in children] == [
        (row["id"], True, row["public"]) for row in truth
    ]
    assert not any("body" in child for child in children)


def test_events_sharing_one_second_beyond_a_page_name_the_same_start_time_again(
    desk: Desk,
) -> None:
    desk.server.set_faults(FROZEN)
    desk.server.update("comments", ids=[10, 20, 30, 40, 50])  # one desk second, the newest
    stamp = desk.ok(desk.server.url + EVENTS_PATH, start_time=0)["end_time"]
    page = desk.ok(desk.server.url + EVENTS_PATH, start_time=stamp, per_page=3)
    assert (page["count"], page["end_time"], page["end_of_stream"]) == (3, stamp, False)
    assert [event["child_events"][0]["id"] for event in page["ticket_events"]] == [10, 20, 30]
    assert page["next_page"].endswith(f"start_time={stamp}")
    assert desk.ok(page["next_page"]) == page  # forever, as Zendesk's does


def test_idle_event_refresh_returns_the_events_of_the_last_second_again(desk: Desk) -> None:
    last = desk.event_pages(start_time=0, include="comment_events")[-1]
    at_end = [e for e in last["ticket_events"] if e["timestamp"] == last["end_time"]]
    page = desk.ok(last["next_page"])
    assert page["ticket_events"] == at_end and page["end_of_stream"] is True
    assert (page["end_time"], page["next_page"]) == (last["end_time"], last["next_page"])


# --- rate limits and faults ------------------------------------------------------------------


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
