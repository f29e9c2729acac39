"""The freshdesk emulator: auth."""

import pytest

from support_assets_tests.sandbox.vendor_freshdesk.desk import (
    EPOCH,
    KEY,
    TICKETS_PATH,
    UNAUTHORIZED,
    Desk,
    basic,
)


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
