"""Conformance of the sandbox with the contract, one test per rule, over real HTTP."""

import base64
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from itertools import groupby

import pytest

from support_assets.sandbox import SandboxServer
from support_assets_tests.sandbox.sandbox_fixtures import (
    CLIENT,
    COMMENTS,
    TICKETS,
    Api,
    order_key,
)


def tie_group(records: list[dict], size: int = 3) -> tuple[int, list[dict]]:
    """The first run of at least `size` records sharing one updated_at, and where it starts."""
    start = 0
    for _, group in groupby(records, key=lambda record: record["updated_at"]):
        members = list(group)
        if len(members) >= size:
            return start, members
        start += len(members)
    raise AssertionError("the data has no tie group")


# --- authentication ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "auth"),
    [
        ({"grant_type": "client_credentials"}, CLIENT),
        (
            {
                "grant_type": "client_credentials",
                "client_id": CLIENT[0],
                "client_secret": CLIENT[1],
            },
            None,
        ),
    ],
    ids=["http_basic", "form_fields"],
)
def test_token_endpoint_accepts_basic_and_form_credentials(api: Api, data: dict, auth) -> None:
    response = api.token(data, auth)
    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert isinstance(body["access_token"], str) and body["access_token"]


@pytest.mark.parametrize(
    ("data", "auth"),
    [
        ({"grant_type": "client_credentials"}, (CLIENT[0], "wrong")),
        ({"grant_type": "client_credentials"}, ("someone-else", CLIENT[1])),
        ({"grant_type": "client_credentials", "client_id": CLIENT[0], "client_secret": "x"}, None),
        ({"grant_type": "client_credentials"}, None),
    ],
    ids=["basic_wrong_secret", "basic_unknown_id", "form_wrong_secret", "no_credentials"],
)
def test_token_endpoint_refuses_bad_clients_with_invalid_client(api: Api, data, auth) -> None:
    response = api.token(data, auth)
    assert (response.status_code, response.json()) == (401, {"error": "invalid_client"})


@pytest.mark.parametrize("grant", ["password", "authorization_code", "refresh_token"], ids=str)
def test_token_endpoint_refuses_other_grant_types(api: Api, grant: str) -> None:
    response = api.token({"grant_type": grant})
    assert (response.status_code, response.json()) == (400, {"error": "unsupported_grant_type"})


@pytest.mark.parametrize("form", [{}, {"grant_type": ""}], ids=["absent", "empty"])
def test_token_endpoint_needs_a_grant_type(api: Api, form: dict) -> None:
    response = api.token(form)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-token", "Bearer ", "Basic " + base64.b64encode(b"a:b").decode()],
    ids=["missing", "unknown", "empty", "basic_scheme"],
)
def test_collections_refuse_missing_or_unknown_tokens(api: Api, authorization) -> None:
    api.session.headers.pop("Authorization")
    headers = {} if authorization is None else {"Authorization": authorization}
    response = api.session.get(api.sandbox.url + "/v1/tickets", headers=headers)
    assert (response.status_code, response.json()) == (401, {"error": "invalid_token"})
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_token_expires_after_expires_in(sandbox: SandboxServer, api: Api) -> None:
    sandbox.reset(token_ttl=1)
    issued = time.monotonic()
    api.login()
    assert api.get("tickets", limit=1).status_code == 200
    deadline = issued + 5
    while (status := api.get("tickets", limit=1).status_code) == 200:
        assert time.monotonic() < deadline, "the token outlived expires_in by 4 s"
        time.sleep(0.05)
    assert status == 401 and time.monotonic() - issued >= 1
    api.login()  # a fresh token works again
    assert api.get("tickets", limit=1).status_code == 200


def test_revoked_tokens_are_refused_and_new_ones_work(sandbox: SandboxServer, api: Api) -> None:
    sandbox.revoke_tokens()
    assert api.get("tickets").status_code == 401
    api.login()
    assert api.get("tickets").status_code == 200


# --- parameters and pages ------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["tickets", "comments"])
def test_default_page_is_the_first_100_records_with_total(api: Api, resource: str) -> None:
    page = api.page(resource)
    total = {"tickets": TICKETS, "comments": COMMENTS}[resource]
    assert (page["total"], page["offset"], page["limit"]) == (total, 0, 100)
    assert page[resource] == api.sandbox.truth(resource)[:100]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "101"},
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"offset": "-1"},
        {"offset": "1.5"},
        {"offset": ""},
        {"offset": "9" * 40},
        {"updated_since": "yesterday"},
        {"updated_since": "2025-05-01"},
        {"updated_since": "2025-05-01T12:00:00"},
        {"updated_before": "2025-13-01T00:00:00Z"},
        {"updated_before": "2025-05-01 12:00:00Z"},
        {"offset": ["1", "2"]},
    ],
    ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()),
)
def test_bad_parameters_are_400_with_a_json_message(api: Api, params: dict) -> None:
    response = api.get("tickets", **params)
    body = response.json()
    assert (response.status_code, body["error"]) == (400, "invalid_request")
    assert isinstance(body["message"], str) and body["message"]


@pytest.mark.parametrize("resource", ["tickets", "comments"])
def test_a_page_past_the_end_is_empty_and_keeps_the_total(api: Api, resource: str) -> None:
    total = len(api.sandbox.truth(resource))
    page = api.page(resource, offset=total, limit=10)
    assert (page[resource], page["total"]) == ([], total)
    assert api.page(resource, offset=total + 1000)[resource] == []


@pytest.mark.parametrize("resource", ["tickets", "comments"])
def test_pages_follow_updated_at_then_id_and_add_up_to_the_truth(api: Api, resource: str) -> None:
    records = api.all_pages(resource, limit=37)
    assert records == api.sandbox.truth(resource)
    assert [order_key(r) for r in records] == sorted(order_key(r) for r in records)
    assert len({r["id"] for r in records}) == len(records)


def test_ties_on_one_updated_at_are_ordered_by_id_across_a_page_boundary(api: Api) -> None:
    truth = api.sandbox.truth("tickets")
    start, group = tie_group(truth)
    # Page size chosen so that a page ends right after the group's first record.
    first = api.page("tickets", offset=0, limit=start + 1)["tickets"]
    second = api.page("tickets", offset=start + 1, limit=len(group) - 1)["tickets"]
    assert first[-1] == group[0]
    assert second == group[1:]
    assert [r["id"] for r in group] == sorted(r["id"] for r in group)


def test_updated_since_is_inclusive_and_updated_before_exclusive(api: Api) -> None:
    truth = api.sandbox.truth("tickets")
    start, group = tie_group(truth)
    stamp = group[0]["updated_at"]
    since = api.all_pages("tickets", updated_since=stamp)
    before = api.all_pages("tickets", updated_before=stamp)
    assert since == truth[start:]
    assert before == truth[:start]
    window = api.page("tickets", updated_since=stamp, updated_before=truth[-1]["updated_at"])
    expected = [r for r in truth if stamp <= r["updated_at"] < truth[-1]["updated_at"]]
    assert (window["tickets"], window["total"]) == (expected[:100], len(expected))


def _shifted(stamp: str, hours: float) -> str:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment.astimezone(timezone(timedelta(hours=hours))).isoformat()


@pytest.mark.parametrize(
    ("param", "spell", "skips_group"),
    [
        ("updated_since", lambda t: _shifted(t, 2), False),
        ("updated_since", lambda t: _shifted(t, -5.5), False),
        ("updated_since", lambda t: t.replace("Z", ".000Z"), False),
        ("updated_since", lambda t: t.replace("Z", ".001Z"), True),
        ("updated_before", lambda t: t.replace("Z", "+00:00"), True),
        ("updated_before", lambda t: t.replace("Z", ".5+00:00"), False),
        ("updated_before", lambda t: t.replace("Z", "z").replace("T", "t"), True),
    ],
    ids=[
        "since_plus_two_hours",
        "since_minus_five_thirty",
        "since_zero_fraction",
        "since_one_millisecond_later",
        "before_plus_zero",
        "before_half_second_later",
        "before_lower_case",
    ],
)
def test_timestamp_parameters_compare_as_instants(
    api: Api, param: str, spell: Callable[[str], str], skips_group: bool
) -> None:
    truth = api.sandbox.truth("tickets")
    start, group = tie_group(truth)
    page = api.page("tickets", **{param: spell(group[0]["updated_at"])})
    if param == "updated_since":
        expected = len(truth) - start - (len(group) if skips_group else 0)
    else:
        expected = start + (0 if skips_group else len(group))
    assert page["total"] == expected


def test_total_counts_what_matches_the_filters_at_request_time(api: Api) -> None:
    truth = api.sandbox.truth("comments")
    low, high = truth[100]["updated_at"], truth[400]["updated_at"]
    expected = sum(1 for r in truth if low <= r["updated_at"] < high)
    assert api.page("comments", updated_since=low, updated_before=high)["total"] == expected
    api.sandbox.create("comments", 3)  # stamped now: after the window
    assert api.page("comments", updated_since=low, updated_before=high)["total"] == expected
    assert api.page("comments")["total"] == COMMENTS + 3


def test_a_record_updated_during_pagination_moves_to_the_end_and_shifts_the_rest(
    api: Api,
) -> None:
    before = api.sandbox.truth("tickets")
    first = api.page("tickets", offset=0, limit=50)["tickets"]
    moved = before[10]["id"]
    assert api.sandbox.update("tickets", ids=[moved]) == [moved]
    second = api.page("tickets", offset=50, limit=50)["tickets"]
    after = api.sandbox.truth("tickets")
    assert first == before[:50]
    assert second == before[51:101]  # everything behind place 10 moved up one
    assert after[-1]["id"] == moved and after[-1]["updated_at"] >= before[-1]["updated_at"]
    assert after[-1] != before[10]  # new content, not only a new stamp
    assert before[50] not in first + second  # the offset client skipped it
