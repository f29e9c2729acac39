"""The zendesk emulator: auth."""

import pytest

from support_assets_tests.sandbox.vendor_zendesk.desk import (
    EMAIL,
    EVENTS_PATH,
    NO_AUTH,
    SECRET,
    TICKETS_PATH,
    Desk,
    basic,
)


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
