"""The freshdesk emulator: validation."""

from typing import Any

import pytest

from support_assets_tests.sandbox.vendor_freshdesk.desk import (
    EPOCH,
    Desk,
    invalid,
)


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
