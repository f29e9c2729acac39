"""The customer-data step on its own: what it removes, hashes and stamps, in place."""

import hashlib
import hmac

import pytest

from support_assets.source.contract import COMMENTS_RESOURCE, TICKETS_RESOURCE
from support_assets.source.history import VERSION_COLUMN
from support_assets.source.privacy import CustomerData, FieldRule, keyed_hash, parse_rules
from support_assets.source.redaction import REDACTED, redact

SALT = "unit-salt-0f9e8d7c6b5a"


class Page(list):
    """A page as dlt's paginator hands it on: a list with attributes the next steps read."""

    paginator = "the page's paginator"


def settle(resource: str, records: list[dict], **rules: list[str]) -> Page:
    data = CustomerData(
        exclude=parse_rules(rules.get("exclude", [])),
        hashed=parse_rules(rules.get("hashed", [])),
        salt=SALT,
        versions=bool(rules.get("versions")),
    )
    page = Page(records)
    assert data.step(resource)(page) is page  # in place: the page keeps its paginator
    return page


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("comments.body", FieldRule(COMMENTS_RESOURCE, ("body",))),
        (
            "tickets.primaryCustomer.email",
            FieldRule(TICKETS_RESOURCE, ("primaryCustomer", "email")),
        ),
        ("body", FieldRule(None, ("body",))),
        ("primaryCustomer.id", FieldRule(None, ("primaryCustomer", "id"))),
        ("tickets", FieldRule(None, ("tickets",))),
    ],
    ids=["table-field", "table-path", "plain", "plain-path", "a-field-named-like-a-table"],
)
def test_rules_name_one_table_or_both(text: str, rule: FieldRule) -> None:
    assert FieldRule.parse(text) == rule
    assert str(rule) == text


def test_excluded_fields_go_and_hashed_ones_are_keyed_hashes_at_any_depth() -> None:
    record = {
        "id": 1,
        "body": "hello",
        "requester_id": 1234,
        "primaryCustomer": {"id": 1234, "email": "a@b.example"},
        "assignee_id": None,
    }
    [settled] = settle(
        TICKETS_RESOURCE,
        [record],
        exclude=["body", "primaryCustomer.email", "comments.requester_id"],
        hashed=["tickets.requester_id", "primaryCustomer.id", "assignee_id"],
    )
    expected = hmac.new(SALT.encode(), b"1234", hashlib.sha256).hexdigest()
    assert settled == {
        "id": 1,
        "requester_id": expected,
        "primaryCustomer": {"id": expected},
        "assignee_id": None,  # nothing to hide
    }


def test_a_comments_rule_leaves_tickets_alone() -> None:
    [ticket] = settle(TICKETS_RESOURCE, [{"id": 1, "body": "kept"}], exclude=["comments.body"])
    [comment] = settle(COMMENTS_RESOURCE, [{"id": 2, "body": "gone"}], exclude=["comments.body"])
    assert ticket == {"id": 1, "body": "kept"} and comment == {"id": 2}


def test_a_version_hash_changes_with_the_content_and_only_with_it() -> None:
    first, again, changed = settle(
        TICKETS_RESOURCE,
        [
            {"id": 1, "status": "new", "tags": ["a"]},
            {"tags": ["a"], "status": "new", "id": 1},
            {"id": 1, "status": "open", "tags": ["a"]},
        ],
        versions=["on"],
    )
    assert first[VERSION_COLUMN] == again[VERSION_COLUMN] != changed[VERSION_COLUMN]


def test_numbers_hash_as_their_text_so_an_id_given_as_text_matches() -> None:
    assert keyed_hash(SALT, 1234) == keyed_hash(SALT, "1234")
    assert keyed_hash(SALT, 1234) != keyed_hash(SALT + "x", 1234)
    assert keyed_hash(SALT, None) is None


def test_the_salt_is_redacted_like_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_HASH_SALT", SALT)
    assert redact(f"failed with key {SALT} in it") == f"failed with key {REDACTED} in it"
