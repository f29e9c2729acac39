"""The helpscout emulator: auth."""

from typing import Any

import pytest

from support_assets_tests.sandbox.sandbox_fixtures import CLIENT
from support_assets_tests.sandbox.vendor_helpscout.desk import (
    FORM,
    INVALID_CLIENT,
    LIST,
    HelpScout,
)


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
