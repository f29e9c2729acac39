"""The Freshdesk emulator serves the desk's auth, shapes, pagination, filters, errors and limits."""

import base64
import calendar
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from itertools import groupby
from typing import Any

import pytest
import requests

from support_assets.sandbox import SandboxServer
from support_assets.sandbox.vendors.freshdesk.shapes import render_conversation, render_ticket
from support_assets_tests.sandbox.sandbox_fixtures import ANCHOR, COMMENTS, TICKETS, small_sandbox

KEY = "sandbox-secret"  # Config.client_secret is the API key
TICKETS_PATH = "/api/v2/tickets"
EPOCH = "1970-01-01T00:00:00Z"
LOADER = {"order_by": "updated_at", "order_type": "asc", "per_page": 100, "include": "description"}
UNAUTHORIZED = {
    "code": "invalid_credentials",
    "message": "You have to be logged in to perform this action.",
}


def invalid(field: str, message: str, code: str = "invalid_value") -> dict[str, Any]:
    return {
        "description": "Validation failed",
        "errors": [{"field": field, "message": message, "code": code}],
    }


class Desk:
    """A keep-alive client holding the API key, like a loader's HTTP session."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.trust_env = False  # loopback: no proxies from the environment
        self.session.auth = (KEY, "X")

    def close(self) -> None:
        self.session.close()

    def get(self, path: str = TICKETS_PATH, **params: Any) -> requests.Response:
        return self.session.get(self.sandbox.url + path, params=params, timeout=10)

    def ok(self, path: str = TICKETS_PATH, **params: Any) -> list[dict[str, Any]]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def follow(self, path: str = TICKETS_PATH, **params: Any) -> list[dict[str, Any]]:
        """Every page by following `Link: rel=next`, as a page-number client does."""
        response = self.get(path, **params)
        records = response.json()
        while "next" in response.links:
            response = self.session.get(response.links["next"]["url"], timeout=10)
            assert response.status_code == 200, response.text
            records += response.json()
        return records


class Loader:
    """The loader the emulator is built for: re-seek on updated_since, page 1, merge on id.

    Two passes (the default list and `filter=deleted`), each with its own cursor; a page
    whose records all share the cursor's second follows the page number instead, since a
    re-seek would return it again. Conversations are read for every ticket seen with a new
    updated_at, and replace what was held for that ticket.
    """

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.tickets: dict[int, dict[str, Any]] = {}
        self.conversations: dict[int, list[dict[str, Any]]] = {}
        self.cursors: dict[str, str] = {"": EPOCH, "deleted": EPOCH}
        self.requests = {"list": 0, "conversations": 0}

    def run(self) -> dict[str, int]:
        before = dict(self.requests)
        changed: dict[int, None] = {}
        for name in self.cursors:
            cursor, page = self.cursors[name], 1
            while True:
                extra = {"filter": name} if name else {}
                response = self.desk.get(**LOADER, updated_since=cursor, page=page, **extra)
                assert response.status_code == 200, response.text
                self.requests["list"] += 1
                records = response.json()
                for ticket in records:
                    held = self.tickets.get(ticket["id"])
                    if held is None or held["updated_at"] != ticket["updated_at"]:
                        changed[ticket["id"]] = None
                    self.tickets[ticket["id"]] = ticket
                last = records[-1]["updated_at"] if records else cursor
                if "next" not in response.links:
                    self.cursors[name] = last
                    break
                cursor, page = (cursor, page + 1) if last == cursor else (last, 1)
        for ident in changed:
            path = f"{TICKETS_PATH}/{ident}/conversations"
            response = self.desk.get(path, per_page=100)
            self.requests["conversations"] += 1
            records = response.json()
            while "next" in response.links:
                response = self.desk.session.get(response.links["next"]["url"], timeout=10)
                self.requests["conversations"] += 1
                records += response.json()
            self.conversations[ident] = records
        return {kind: count - before[kind] for kind, count in self.requests.items()}

    def comments(self) -> list[dict[str, Any]]:
        return [c for records in self.conversations.values() for c in records]


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def by_id(records: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {record["id"]: record for record in records}


def epoch(stamp: str) -> int:
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """The suite's pinned data set, served as Freshdesk."""
    with small_sandbox(vendor="freshdesk") as server:
        yield server


@pytest.fixture
def desk(sandbox: SandboxServer) -> Iterator[Desk]:
    sandbox.reset()
    client = Desk(sandbox)
    yield client
    client.close()


@pytest.fixture
def truth(desk: Desk) -> list[dict[str, Any]]:
    return desk.sandbox.truth("tickets")


def live(tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [ticket for ticket in tickets if not ticket.get("deleted")]


def stripped(ticket: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in ticket.items() if k not in ("description", "description_text")}


# --- auth ----------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["X", "", "anything at all"], ids=["x", "empty", "other"])
def test_the_api_key_as_username_with_any_password_is_accepted(desk: Desk, password: str) -> None:
    desk.session.auth = (KEY, password)
    assert desk.get(updated_since=EPOCH).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": basic("wrong", "X")},
        {"Authorization": basic("X", KEY)},
        {"Authorization": f"Bearer {KEY}"},
        {"Authorization": "Basic !!!"},
        {},
    ],
    ids=["wrong_key", "key_as_password", "bearer", "garbled", "none"],
)
def test_a_wrong_or_missing_key_answers_401_invalid_credentials(
    desk: Desk, headers: dict[str, str]
) -> None:
    desk.session.auth = None
    response = desk.session.get(desk.sandbox.url + TICKETS_PATH, headers=headers, timeout=10)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_there_is_no_oauth_token_endpoint(desk: Desk, method: str) -> None:
    response = desk.session.request(method, desk.sandbox.url + "/oauth/token", timeout=10)
    assert response.status_code == 404


# --- the tickets list ----------------------------------------------------------------------


def test_the_list_is_a_bare_array_of_30_by_default_newest_created_first(
    desk: Desk, truth: list[dict[str, Any]]
) -> None:
    page = desk.ok(updated_since=EPOCH)
    expected = sorted(live(truth), key=lambda t: (t["created_at"], t["id"]), reverse=True)
    assert page == [stripped(t) for t in expected[:30]]


@pytest.mark.parametrize(
    ("order_by", "key"),
    [
        ("updated_at", lambda t: (t["updated_at"], t["id"])),
        ("created_at", lambda t: (t["created_at"], t["id"])),
        ("due_by", lambda t: (t["created_at"], t["id"])),
        ("status", lambda t: (t["status"], t["created_at"], t["id"])),
    ],
    ids=["updated_at", "created_at", "due_by", "status"],
)
@pytest.mark.parametrize("order_type", ["asc", "desc"])
def test_every_order_lists_every_live_ticket_once(
    desk: Desk, truth: list[dict[str, Any]], order_by: str, key: Any, order_type: str
) -> None:
    records = desk.follow(updated_since=EPOCH, order_by=order_by, order_type=order_type)
    expected = sorted(live(truth), key=key, reverse=order_type == "desc")
    assert records == [stripped(t) for t in expected]
    assert len(records) == len(live(truth)) < TICKETS


def test_the_next_link_repeats_the_query_with_the_next_page_and_the_last_page_has_none(
    desk: Desk, truth: list[dict[str, Any]]
) -> None:
    query = f"updated_since={EPOCH.replace(':', '%3A')}&per_page=100&order_by=updated_at"
    response = desk.session.get(f"{desk.sandbox.url}{TICKETS_PATH}?{query}", timeout=10)
    assert (
        response.headers["Link"] == f'<{desk.sandbox.url}{TICKETS_PATH}?{query}&page=2>; rel="next"'
    )
    second = desk.session.get(response.links["next"]["url"], timeout=10)
    assert second.links["next"]["url"] == f"{desk.sandbox.url}{TICKETS_PATH}?{query}&page=3"
    last = desk.session.get(second.links["next"]["url"], timeout=10)
    assert "Link" not in last.headers
    assert len(last.json()) == len(live(truth)) - 200
    assert desk.ok(updated_since=EPOCH, per_page=100, page=4) == []


def test_descriptions_come_with_include_description_and_each_include_costs_two_credits(
    desk: Desk, truth: list[dict[str, Any]]
) -> None:
    desk.sandbox.set_faults({"name": "desk_clock", "frozen": 1})  # one rate-limit minute
    used = []
    for include in (None, "description", "description,requester,stats"):
        params: dict[str, Any] = {**LOADER, "updated_since": EPOCH, "per_page": 5}
        if include:
            params["include"] = include
        else:
            del params["include"]
        response = desk.get(**params)
        used.append(
            (
                response.headers["X-RateLimit-Used-CurrentRequest"],
                response.headers["X-RateLimit-Remaining"],
                response.headers["X-RateLimit-Total"],
            )
        )
        first = response.json()[0]
        if include is None:
            assert first == stripped(truth[0]) and "description" not in first
        elif include == "description":
            assert first == truth[0]
            assert first["description"].startswith("<div>")
        else:
            assert first["requester"]["id"] == first["requester_id"]
            assert set(first["stats"]) >= {"resolved_at", "closed_at", "status_updated_at"}
    assert used == [("1", "199", "200"), ("3", "196", "200"), ("7", "189", "200")]


def test_updated_since_is_inclusive_to_the_second(desk: Desk, truth: list[dict[str, Any]]) -> None:
    rows = live(truth)
    runs = [list(g) for _, g in groupby(rows, key=lambda t: t["updated_at"])]
    position = next(i for i, run in enumerate(runs) if len(run) >= 3 and i > 0)
    tie = runs[position]
    records = desk.ok(**LOADER, updated_since=tie[0]["updated_at"])
    expected = [t for run in runs[position:] for t in run][:100]
    assert records == expected
    assert [r["id"] for r in records[: len(tie)]] == [t["id"] for t in tie]


def test_without_updated_since_only_tickets_created_in_the_last_30_days(
    desk: Desk, truth: list[dict[str, Any]]
) -> None:
    offset = epoch(ANCHOR) - int(time.time())
    desk.sandbox.set_faults({"name": "desk_clock", "frozen": 1, "offset": offset})
    response = desk.get(per_page=100)
    now = int(parsedate_to_datetime(response.headers["Date"]).timestamp())
    cutoff = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 30 * 86400))
    recent = [t for t in live(truth) if t["created_at"] >= cutoff]
    expected = sorted(recent, key=lambda t: (t["created_at"], t["id"]), reverse=True)
    assert response.json() == [stripped(t) for t in expected]
    assert 0 < len(expected) < len(live(truth))


def test_deleted_tickets_are_listed_only_with_filter_deleted(
    desk: Desk, truth: list[dict[str, Any]]
) -> None:
    deleted = [t for t in truth if t.get("deleted")]
    assert deleted and all(t["status"] == 5 for t in deleted)
    assert desk.follow(**LOADER, updated_since=EPOCH, filter="deleted") == deleted
    assert not any(t.get("deleted") for t in desk.follow(**LOADER, updated_since=EPOCH))
    (gone,) = desk.sandbox.delete("tickets", ids=[live(truth)[0]["id"]])
    listed = desk.follow(**LOADER, updated_since=EPOCH, filter="deleted")
    assert [t["id"] for t in listed] == [t["id"] for t in deleted] + [gone]
    assert listed[-1]["deleted"] is True
    assert gone not in {t["id"] for t in desk.follow(**LOADER, updated_since=EPOCH)}


def test_spam_and_watching_list_nothing_and_new_and_my_open_lists_open_unassigned(
    desk: Desk, truth: list[dict[str, Any]]
) -> None:
    for name in ("spam", "watching"):
        assert desk.ok(updated_since=EPOCH, filter=name) == []
    unassigned = desk.follow(**LOADER, updated_since=EPOCH, filter="new_and_my_open")
    expected = [t for t in live(truth) if t["status"] == 2 and t["responder_id"] is None]
    assert unassigned == expected and expected


def test_tickets_render_the_store_record_in_freshdesk_shape() -> None:
    record = {
        "id": 7,
        "subject": "Refund <now>",
        "description": "First & second.\n\nLine one\nline two",
        "status": "solved",
        "priority": "urgent",
        "requester_id": 1042,
        "assignee_id": 117,
        "tags": ["billing"],
        "custom_fields": {"plan": "pro", "vip": True},
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-02T00:00:00Z",
    }
    assert render_ticket(record, ("description",)) == {
        "id": 7,
        "subject": "Refund <now>",
        "status": 4,
        "priority": 4,
        "requester_id": 1042,
        "responder_id": 117,
        "tags": ["billing"],
        "custom_fields": {"cf_plan": "pro", "cf_vip": True},
        "spam": False,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-02T00:00:00Z",
        "description": "<div>First &amp; second.</div><div>Line one<br>line two</div>",
        "description_text": "First & second.\n\nLine one\nline two",
    }
    statuses = {
        s: render_ticket({**record, "status": s})["status"]
        for s in ("new", "open", "pending", "solved", "closed", "deleted")
    }
    assert statuses == {"new": 2, "open": 2, "pending": 3, "solved": 4, "closed": 5, "deleted": 5}
    assert render_ticket({**record, "status": "deleted"})["deleted"] is True
    priorities = {
        p: render_ticket({**record, "priority": p})["priority"]
        for p in ("low", "normal", "high", "urgent", None)
    }
    assert priorities == {"low": 1, "normal": 2, "high": 3, "urgent": 4, None: 1}


def test_conversations_render_the_store_comment_in_freshdesk_shape() -> None:
    comment = {
        "id": 3,
        "ticket_id": 7,
        "author_id": 1042,
        "body": "Thanks <b>",
        "public": False,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    assert render_conversation(comment, requester_id=1042) == {
        "id": 3,
        "body": "<div>Thanks &lt;b&gt;</div>",
        "body_text": "Thanks <b>",
        "incoming": True,
        "private": True,
        "user_id": 1042,
        "ticket_id": 7,
        "source": 2,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    public = render_conversation({**comment, "public": True}, requester_id=1)
    assert (public["private"], public["incoming"], public["source"]) == (False, False, 0)


# --- validation ----------------------------------------------------------------------------


def test_page_beyond_300_is_refused_as_freshdesk_words_it(desk: Desk) -> None:
    assert desk.ok(updated_since=EPOCH, page=300) == []
    response = desk.get(updated_since=EPOCH, page=301)
    assert response.status_code == 400
    assert response.text == (
        '{"description":"Validation failed","errors":[{"field":"page","message":"You cannot'
        ' access tickets beyond the 300th page. Please provide a smaller page number.",'
        '"code":"invalid_value"}]}'
    )


def test_an_unknown_field_is_refused_as_invalid_field(desk: Desk) -> None:
    response = desk.get(updated_since=EPOCH, updated_after=EPOCH)
    assert response.status_code == 400
    assert response.json() == invalid(
        "updated_after", "Unexpected/invalid field in request", "invalid_field"
    )


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"per_page": 101}, "per_page", "invalid_value"),
        ({"per_page": 0}, "per_page", "datatype_mismatch"),
        ({"page": "two"}, "page", "datatype_mismatch"),
        ({"order_by": "priority"}, "order_by", "invalid_value"),
        ({"order_type": "ASC"}, "order_type", "invalid_value"),
        ({"filter": "all"}, "filter", "invalid_value"),
        ({"include": "description,conversations"}, "include", "invalid_value"),
        ({"updated_since": "2026-06-30"}, "updated_since", "invalid_value"),
    ],
    ids=lambda value: None if isinstance(value, dict) else str(value),
)
def test_a_bad_value_is_a_validation_error_on_its_field(
    desk: Desk, params: dict[str, Any], field: str, code: str
) -> None:
    response = desk.get(**{"updated_since": EPOCH, **params})
    assert response.status_code == 400
    body = response.json()
    assert body["description"] == "Validation failed"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, code)]


def test_every_error_of_a_request_is_listed(desk: Desk) -> None:
    response = desk.get(since=EPOCH, per_page=500, page=400)
    fields = [error["field"] for error in response.json()["errors"]]
    assert (response.status_code, fields) == (400, ["since", "page", "per_page"])


# --- conversations -------------------------------------------------------------------------


def test_conversations_come_oldest_first_30_a_page_with_a_next_link(desk: Desk) -> None:
    comments = desk.sandbox.truth("comments")
    assert len(comments) == COMMENTS
    ticket, group = max(
        (
            (t, list(g))
            for t, g in groupby(
                sorted(comments, key=lambda c: c["ticket_id"]), key=lambda c: c["ticket_id"]
            )
        ),
        key=lambda pair: len(pair[1]),
    )
    expected = sorted(group, key=lambda c: (c["created_at"], c["id"]))
    path = f"{TICKETS_PATH}/{ticket}/conversations"
    assert len(expected) > 2
    assert desk.ok(path) == expected[:30]
    paged = desk.follow(path, per_page=2)
    assert paged == expected
    response = desk.get(path, per_page=2)
    assert response.links["next"]["url"] == f"{desk.sandbox.url}{path}?per_page=2&page=2"


def test_conversations_of_an_unknown_or_purged_ticket_answer_404(desk: Desk) -> None:
    assert desk.get(f"{TICKETS_PATH}/{TICKETS + 1}/conversations").status_code == 404
    desk.sandbox.hard_delete("tickets", ids=[5])
    assert desk.get(f"{TICKETS_PATH}/5/conversations").status_code == 404
    assert desk.get(f"{TICKETS_PATH}/6/conversations").status_code == 200


def test_conversations_refuse_unknown_fields_and_pages_over_100(desk: Desk) -> None:
    path = f"{TICKETS_PATH}/1/conversations"
    response = desk.get(path, per_page=101, include="stats")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["include", "per_page"]


@pytest.mark.parametrize("action", ["create", "update", "delete"])
def test_a_changed_conversation_bumps_its_ticket_for_an_incremental_loader(
    desk: Desk, action: str
) -> None:
    loader = Loader(desk)
    loader.run()
    comments = desk.sandbox.truth("comments")
    if action == "create":
        (ident,) = desk.sandbox.create("comments", 1)
    else:
        ident = comments[0]["id"]
        getattr(desk.sandbox, action)("comments", ids=[ident])
    assert loader.run()["conversations"] == 1
    truth = desk.sandbox.truth("comments")
    assert by_id(loader.comments()) == by_id(truth)
    assert by_id(loader.tickets.values()) == by_id(desk.sandbox.truth("tickets"))
    assert (ident in by_id(truth)) == (action != "delete")


def test_changes_made_before_the_first_request_still_bump_their_tickets(desk: Desk) -> None:
    before = by_id(desk.sandbox.truth("tickets"))  # truth indexes the conversations now
    desk.sandbox.reset()
    comment = desk.sandbox.update("comments", 1)[0]
    ticket = by_id(desk.sandbox.truth("comments"))[comment]["ticket_id"]
    after = by_id(desk.sandbox.truth("tickets"))
    changed = [i for i in after if after[i]["updated_at"] != before[i]["updated_at"]]
    assert changed == [ticket]


# --- rate limits and faults ----------------------------------------------------------------


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
    headers = [
        (
            r.status_code,
            r.headers["X-RateLimit-Total"],
            r.headers["X-RateLimit-Remaining"],
            r.headers["X-RateLimit-Used-CurrentRequest"],
        )
        for r in answers
    ]
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


# --- a whole load --------------------------------------------------------------------------


def test_a_re_seeking_loader_reads_exactly_truth_with_known_request_counts(desk: Desk) -> None:
    loader = Loader(desk)
    first = loader.run()
    truth_tickets = desk.sandbox.truth("tickets")
    assert by_id(list(loader.tickets.values())) == by_id(truth_tickets)
    assert by_id(loader.comments()) == by_id(desk.sandbox.truth("comments"))
    deleted = sum(1 for t in truth_tickets if t.get("deleted"))
    assert first == {"list": 4, "conversations": TICKETS}
    assert deleted == 6
    assert loader.run() == {"list": 2, "conversations": 0}  # idle: one call per pass
    requests_by_route = desk.sandbox.stats()["requests"]
    assert requests_by_route[f"GET {TICKETS_PATH}"] == {"200": 6}
    edited = desk.sandbox.update("tickets", 5) + desk.sandbox.delete("tickets", 2)
    created = desk.sandbox.create("comments", 3)
    changed = loader.run()
    assert by_id(list(loader.tickets.values())) == by_id(desk.sandbox.truth("tickets"))
    comments = by_id(desk.sandbox.truth("comments"))
    assert by_id(loader.comments()) == comments
    touched = {*edited, *(comments[ident]["ticket_id"] for ident in created)}
    assert changed == {"list": 2, "conversations": len(touched)}


def test_a_loader_follows_the_page_number_when_a_whole_page_shares_the_cursor_second(
    desk: Desk,
) -> None:
    loader = Loader(desk)
    loader.run()
    edited = desk.sandbox.update("tickets", 150)  # one mutation: one stamp for all 150
    # the old cursor's ties and 100 edits; then 100 edits at one second; then page 2: 50
    assert loader.run() == {"list": 3 + 1, "conversations": 150}
    assert by_id(list(loader.tickets.values())) == by_id(desk.sandbox.truth("tickets"))
    assert len({loader.tickets[i]["updated_at"] for i in edited}) == 1
