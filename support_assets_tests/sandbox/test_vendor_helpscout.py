"""The Help Scout emulator serves the desk's auth, HAL pages, filters, errors and faults."""

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from support_assets.sandbox import SandboxServer
from support_assets_tests.sandbox.sandbox_fixtures import CLIENT, small_sandbox

TOKEN = "/v2/oauth2/token"
LIST = "/v2/conversations"
LOADER = {"status": "all", "sortField": "modifiedAt", "sortOrder": "asc", "embed": "threads"}
INVALID_CLIENT = {"error": "invalid_client", "error_description": "Invalid client authentication"}
FORM = {"grant_type": "client_credentials", "client_id": CLIENT[0], "client_secret": CLIENT[1]}


class HelpScout:
    """A keep-alive client of the emulated desk, and the loader a Help Scout preset runs."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.trust_env = False

    def close(self) -> None:
        self.session.close()

    def token(self, **kwargs: Any) -> requests.Response:
        return self.session.post(self.sandbox.url + TOKEN, timeout=10, **kwargs)

    def login(self) -> None:
        response = self.token(data=FORM)
        assert response.status_code == 200, response.text
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def get(self, path: str = LIST, **params: Any) -> requests.Response:
        return self.session.get(self.sandbox.url + path, params=params, timeout=10)

    def page(self, path: str = LIST, **params: Any) -> dict[str, Any]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def walk(self, path: str = LIST, **params: Any) -> list[dict[str, Any]]:
        """Every page by following `_links.next`, as dlt's JSONLink paginator does."""
        rel = "threads" if path.endswith("/threads") else "conversations"
        response = self.get(path, **params)
        pages = []
        while True:
            assert response.status_code == 200, response.text
            pages.append(response.json())
            following = pages[-1]["_links"].get("next")
            if following is None:
                return [record for page in pages for record in page["_embedded"][rel]]
            response = self.session.get(following["href"], timeout=10)

    def load(self, cursor: str | None = None) -> tuple[dict[int, dict[str, Any]], str | None]:
        """The preset's loader: page 1 from the cursor again after every page, merged on id.

        A page wholly inside the cursor's second cannot move the cursor; only then is the
        next page number taken.
        """
        merged: dict[int, dict[str, Any]] = {}
        page = 1
        while True:
            params = {**LOADER, "page": page}
            if cursor is not None:
                params["modifiedSince"] = cursor
            body = self.page(**params)
            conversations = body["_embedded"]["conversations"]
            for conversation in conversations:
                merged[conversation["id"]] = conversation
            if "next" not in body["_links"]:
                return merged, conversations[-1]["userUpdatedAt"] if conversations else cursor
            last = conversations[-1]["userUpdatedAt"]
            cursor, page = (cursor, page + 1) if last == cursor else (last, 1)


def split(conversations: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """Conversations without `_embedded`, and their threads with `ticket_id`, as a loader does."""
    tickets, comments = [], []
    for conversation in conversations:
        record = dict(conversation)
        threads = record.pop("_embedded")["threads"]
        tickets.append(record)
        comments += [{**thread, "ticket_id": record["id"]} for thread in threads]
    return tickets, comments


def by_id(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda record: record["id"])


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with small_sandbox(vendor="helpscout") as server:
        yield server


@pytest.fixture
def desk(sandbox: SandboxServer) -> Iterator[HelpScout]:
    sandbox.reset()
    client = HelpScout(sandbox)
    client.login()
    yield client
    client.close()


# --- auth ---------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["data", "json"], ids=["form", "json"])
def test_token_takes_client_credentials_from_a_form_or_json_body(
    desk: HelpScout, encoding: str
) -> None:
    desk.sandbox.reset(token_ttl=172800)
    response = desk.token(**{encoding: FORM})
    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 172800)
    desk.session.headers["Authorization"] = f"Bearer {body['access_token']}"
    assert desk.get().status_code == 200


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": {"grant_type": "client_credentials"}, "auth": CLIENT},
        {"data": FORM, "auth": CLIENT},
        {"data": {**FORM, "client_secret": "wrong"}},
        {"json": {**FORM, "client_id": "someone-else"}},
    ],
    ids=["basic_only", "basic_and_body", "wrong_secret", "wrong_id_json"],
)
def test_token_refuses_basic_auth_and_wrong_credentials_as_invalid_client(
    desk: HelpScout, kwargs: dict[str, Any]
) -> None:
    response = desk.token(**kwargs)
    assert (response.status_code, response.json()) == (401, INVALID_CLIENT)
    assert desk.sandbox.stats()["token_grants"] == 1  # the fixture's login only


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"data": {"client_id": CLIENT[0], "client_secret": CLIENT[1]}}, "invalid_request"),
        ({"data": {**FORM, "client_secret": ""}}, "invalid_request"),
        ({"json": {"grant_type": "client_credentials"}}, "invalid_request"),
        ({"data": {**FORM, "grant_type": "password"}}, "unsupported_grant_type"),
        (
            {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
            "invalid_request",
        ),
    ],
    ids=["no_grant_type", "empty_secret", "no_credentials", "password_grant", "bad_json"],
)
def test_token_answers_400_to_missing_fields_and_other_grants(
    desk: HelpScout, kwargs: dict[str, Any], code: str
) -> None:
    response = desk.token(**kwargs)
    assert response.status_code == 400
    assert response.json()["error"] == code and response.json()["error_description"]


def test_api_refuses_missing_unknown_revoked_and_expired_tokens_with_401(
    desk: HelpScout,
) -> None:
    assert desk.get().status_code == 200
    desk.sandbox.revoke_tokens()
    refused = [desk.get()]
    desk.session.headers["Authorization"] = "Bearer not-a-token"
    refused.append(desk.get(f"{LIST}/1/threads"))
    del desk.session.headers["Authorization"]
    refused.append(desk.get())
    desk.sandbox.set_faults({"name": "token_early_expiry", "lifetime": 0})
    desk.login()
    refused.append(desk.get())
    for response in refused:
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert desk.sandbox.stats()["faults_injected"] == {"token_early_expiry": 1}


def test_token_revoke_kills_the_token_after_every_nth_page(desk: HelpScout) -> None:
    desk.sandbox.set_faults({"name": "token_revoke", "every": 2})
    assert [desk.get(page=n).status_code for n in (1, 2, 3)] == [200, 200, 401]
    desk.login()
    assert desk.get(page=3).status_code == 200


def test_no_access_token_grants_a_200_without_a_token(desk: HelpScout) -> None:
    desk.sandbox.set_faults("no_access_token")
    body = desk.token(data=FORM).json()
    assert "access_token" not in body and body["token_type"] == "Bearer"


# --- the conversation list ----------------------------------------------------------------


def test_the_list_defaults_to_active_conversations_25_a_page(desk: HelpScout) -> None:
    truth = desk.sandbox.truth("tickets")
    active = [c["id"] for c in truth if c["status"] == "active"]
    first = desk.page()
    assert first["page"] == {
        "size": 25,
        "totalElements": len(active),
        "totalPages": -(-len(active) // 25),
        "number": 1,
    }
    listed = desk.walk()
    assert sorted(c["id"] for c in listed) == sorted(active)
    assert {c["status"] for c in listed} == {"active"}


@pytest.mark.parametrize(
    ("status", "selects"),
    [
        ("active", {"active"}),
        ("pending", {"pending"}),
        ("closed", {"closed"}),
        ("open", {"active", "pending"}),
        ("spam", set()),
        ("all", {"active", "pending", "closed"}),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_the_status_filter_selects_the_mapped_statuses(
    desk: HelpScout, status: str, selects: set[str]
) -> None:
    expected = sorted(c["id"] for c in desk.sandbox.truth("tickets") if c["status"] in selects)
    assert sorted(c["id"] for c in desk.walk(status=status)) == expected


def test_pages_carry_hal_links_that_keep_the_query_and_end_without_next(
    desk: HelpScout,
) -> None:
    total = len(desk.sandbox.truth("tickets"))
    pages = -(-total // 25)
    response = desk.get(status="all", sortField="modifiedAt", sortOrder="asc", page=2)
    assert response.headers["Content-Type"] == "application/hal+json"
    links = response.json()["_links"]
    query = "status=all&sortField=modifiedAt&sortOrder=asc"
    base = f"{desk.sandbox.url}{LIST}?{query}"
    assert links == {
        "self": {"href": f"{base}&page=2"},
        "first": {"href": f"{base}&page=1"},
        "last": {"href": f"{base}&page={pages}"},
        "next": {"href": f"{base}&page=3"},
        "previous": {"href": f"{base}&page=1"},
        "page": {"href": f"{base}{{&page}}", "templated": True},
    }
    last = desk.page(status="all", page=pages)
    assert "next" not in last["_links"] and len(last["_embedded"]["conversations"]) == total % 25
    beyond = desk.page(status="all", page=pages + 1)
    assert beyond["_embedded"] == {"conversations": []} and "next" not in beyond["_links"]
    assert beyond["page"] == {"size": 25, "totalElements": total, "totalPages": pages, "number": 11}
    bare = desk.page()["_links"]["page"]
    assert bare == {"href": f"{desk.sandbox.url}{LIST}{{?page}}", "templated": True}


def test_a_size_parameter_changes_nothing_25_is_the_cap(desk: HelpScout) -> None:
    page = desk.page(status="all", size=100, pageSize=100, per_page=100, limit=100)
    assert len(page["_embedded"]["conversations"]) == 25 and page["page"]["size"] == 25


def test_modified_since_is_inclusive_to_the_second(desk: HelpScout) -> None:
    truth = desk.sandbox.truth("tickets")
    stamps = Counter(c["userUpdatedAt"] for c in truth)
    tied = next(stamp for stamp, count in sorted(stamps.items()) if count >= 3)
    expected = [c["id"] for c in truth if c["userUpdatedAt"] >= tied]
    listed = desk.walk(**{**LOADER, "modifiedSince": tied})
    assert [c["id"] for c in listed] == expected
    assert [c["userUpdatedAt"] for c in listed[: stamps[tied]]] == [tied] * stamps[tied]
    offset = desk.walk(**{**LOADER, "modifiedSince": tied.replace("Z", "+00:00")})
    assert [c["id"] for c in offset] == expected


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"status": "deleted"}, "status"),
        ({"sortField": "subject"}, "sortField"),
        ({"sortOrder": "up"}, "sortOrder"),
        ({"modifiedSince": "yesterday"}, "modifiedSince"),
        ({"modifiedSince": "2026-06-30"}, "modifiedSince"),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"page": ["1", "2"]}, "page"),
    ],
    ids=lambda value: (
        "-".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else ""
    ),
)
def test_bad_parameters_answer_400_in_the_vnd_error_shape(
    desk: HelpScout, params: dict[str, Any], path: str
) -> None:
    response = desk.get(**params)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/vnd.error+json"
    body = response.json()
    assert body["message"] == "Bad request" and body["logRef"]
    assert [error["path"] for error in body["_embedded"]["errors"]] == [path]


def test_sort_fields_and_orders(desk: HelpScout) -> None:
    truth = desk.sandbox.truth("tickets")
    ascending = [c["id"] for c in truth]
    assert [c["id"] for c in desk.walk(status="all", sortField="modifiedAt")] == ascending[::-1]
    created = [c["id"] for c in desk.walk(status="all", sortField="createdAt", sortOrder="asc")]
    assert created == [c["id"] for c in sorted(truth, key=lambda c: (c["createdAt"], c["id"]))]
    default = [c["id"] for c in desk.walk(status="all")]  # createdAt, newest first
    assert default == created[::-1]
    assert [c["id"] for c in desk.walk(status="all", sortField="number")] == sorted(
        ascending, reverse=True
    )


# --- shapes and truth ---------------------------------------------------------------------


def test_reading_every_page_of_an_unchanged_desk_yields_exactly_truth(desk: HelpScout) -> None:
    tickets, comments = split(desk.walk(**LOADER))
    assert tickets == desk.sandbox.truth("tickets")
    assert by_id(comments) == by_id(desk.sandbox.truth("comments"))
    assert len(comments) == len({c["id"] for c in comments})
    stats = desk.sandbox.stats()
    assert stats["records_served"] == {"tickets": len(tickets), "comments": len(comments)}


def test_conversations_have_the_v2_shape(desk: HelpScout) -> None:
    truth = desk.sandbox.truth("tickets")
    required = {
        "id",
        "number",
        "subject",
        "status",
        "state",
        "preview",
        "mailboxId",
        "createdBy",
        "primaryCustomer",
        "tags",
        "customFields",
        "createdAt",
        "userUpdatedAt",
    }
    for conversation in truth:
        assert required <= set(conversation) <= {*required, "assignee", "closedAt"}
        assert conversation["state"] == "published"
        assert ("closedAt" in conversation) == (conversation["status"] == "closed")
        assert all(set(tag) == {"id", "tag"} for tag in conversation["tags"])
        for field in conversation["customFields"]:
            assert set(field) == {"id", "name", "value"} and isinstance(field["value"], str)
        assert conversation["userUpdatedAt"] >= conversation["createdAt"]
    assert any("assignee" in c for c in truth) and any("assignee" not in c for c in truth)


def test_threads_are_typed_by_visibility_and_author(desk: HelpScout) -> None:
    threads = desk.sandbox.truth("comments")
    assert {t["type"] for t in threads} == {"customer", "message", "note"}
    for thread in threads:
        by_requester = thread["createdBy"]["id"] == thread["customer"]["id"]
        if thread["type"] == "customer":
            assert by_requester and thread["source"] == {"type": "email", "via": "customer"}
        else:
            assert thread["type"] == "note" or not by_requester
            assert thread["createdBy"]["type"] == "user"
        assert thread["state"] == "published"


def test_the_threads_route_pages_by_50_newest_first_as_embedded(desk: HelpScout) -> None:
    desk.sandbox.reset(tickets=1, comments=120)
    desk.login()
    truth = desk.sandbox.truth("comments")
    (busiest, count), *_ = Counter(t["ticket_id"] for t in truth).most_common()
    assert count > 100
    path = f"{LIST}/{busiest}/threads"
    sizes = []
    for number in range(1, 4):
        page = desk.page(path, page=number)
        sizes.append(len(page["_embedded"]["threads"]))
        assert ("next" in page["_links"]) == (number < 3)
    assert sizes == [50, 50, count - 100]
    threads = desk.walk(path)
    assert threads == [
        {k: v for k, v in t.items() if k != "ticket_id"} for t in truth if t["ticket_id"] == busiest
    ]
    keys = [(t["createdAt"], t["id"]) for t in threads]
    assert keys == sorted(keys, reverse=True)
    one = desk.page(f"{LIST}/{busiest}", embed="threads")
    assert one["_embedded"]["threads"] == threads


def test_deleted_conversations_and_threads_leave_the_lists_and_the_truth(
    desk: HelpScout,
) -> None:
    truth = desk.sandbox.truth("comments")
    ticket = truth[0]["ticket_id"]
    (thread,) = [t for t in truth if t["ticket_id"] != ticket][:1]
    before = {c["id"]: c for c in desk.sandbox.truth("tickets")}
    desk.sandbox.delete("tickets", ids=[ticket])
    desk.sandbox.delete("comments", ids=[thread["id"]])
    tickets, comments = split(desk.walk(**LOADER))
    assert ticket not in {c["id"] for c in tickets}
    assert {c["ticket_id"] for c in comments} <= {c["id"] for c in tickets}
    assert thread["id"] not in {c["id"] for c in comments}
    assert (tickets, by_id(comments)) == (
        desk.sandbox.truth("tickets"),
        by_id(desk.sandbox.truth("comments")),
    )
    assert desk.get(f"{LIST}/{ticket}").status_code == 404
    assert desk.get(f"{LIST}/{ticket}/threads").status_code == 404
    assert desk.get(f"{LIST}/999999").status_code == 404
    moved = next(c for c in tickets if c["id"] == thread["ticket_id"])
    assert moved["userUpdatedAt"] > before[moved["id"]]["userUpdatedAt"]


def test_a_changed_thread_moves_its_conversation_so_a_refresh_sees_it(desk: HelpScout) -> None:
    merged, cursor = desk.load()
    (created,) = desk.sandbox.create("comments", 1)
    (edited,) = desk.sandbox.update("comments", 1)
    changes, _ = desk.load(cursor)
    merged.update(changes)
    tickets, comments = split(list(merged.values()))
    assert by_id(tickets) == by_id(desk.sandbox.truth("tickets"))
    assert by_id(comments) == by_id(desk.sandbox.truth("comments"))
    assert {created, edited} <= {c["id"] for c in split(list(changes.values()))[1]}


# --- rate limits and faults ---------------------------------------------------------------


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


# --- what a load costs --------------------------------------------------------------------


def test_a_full_load_and_an_idle_refresh_cost_exact_request_counts(desk: HelpScout) -> None:
    desk.sandbox.reset()
    loader = HelpScout(desk.sandbox)
    loader.login()
    merged, cursor = loader.load()
    tickets, comments = split(list(merged.values()))
    assert (len(tickets), len(comments)) == (244, 584)
    requests_made = desk.sandbox.stats()["requests"]
    assert requests_made == {f"POST {TOKEN}": {"200": 1}, f"GET {LIST}": {"200": 11}}
    desk.sandbox.reset_stats()
    idle = HelpScout(desk.sandbox)
    idle.login()
    changes, again = idle.load(cursor)
    assert again == cursor and set(changes) <= set(merged)
    requests_made = desk.sandbox.stats()["requests"]
    assert requests_made == {f"POST {TOKEN}": {"200": 1}, f"GET {LIST}": {"200": 1}}
    loader.close()
    idle.close()
