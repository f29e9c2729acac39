"""Customer data and erasure on the presets whose comments are not a plain list.

Freshdesk's conversations are read per ticket (a child resource fed the tickets' dicts);
Help Scout's threads are nested in the conversation list, and its requester is a field
inside an object (`primaryCustomer.id`, a JSON column): the same step settles them, and
the erasure job finds the requester in the JSON.
"""

import dataclasses
from collections.abc import Iterator

import pytest

from support_assets.demo import data_anchor, desk_credentials
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets.source.privacy import keyed_hash, parse_rules
from support_assets.source.vendors import preset
from support_assets_tests.helpers import CLIENT_ID, CLIENT_SECRET, SEED, materialize
from support_assets_tests.helpers import warehouse_rows as rows
from support_assets_tests.test_erasure import erase

SALT = "salt-canary-77c0a5e1d3b9"
# What each preset hashes and excludes, and where its requester is in the desk's records.
RULES = {
    "freshdesk": (["tickets.requester_id"], ["description", "comments.body", "body_text"]),
    "helpscout": (["primaryCustomer.id", "comments.customer.id"], ["comments.body"]),
}


@pytest.fixture(scope="module", params=sorted(RULES))
def desk_server(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    with SandboxServer(
        tickets=40,
        comments=120,
        seed=SEED,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        vendor=request.param,
        anchor=data_anchor(request.param),
    ) as server:
        yield server


def requester_of(vendor: str, ticket: dict) -> int:
    return ticket["primaryCustomer"]["id"] if vendor == "helpscout" else ticket["requester_id"]


def test_a_desks_comments_and_requester_are_settled_and_erased(
    desk_server: SandboxServer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vendor = desk_server.config["vendor"]
    desk_server.reset()
    monkeypatch.setenv("SUPPORT_API_BASE_URL", desk_server.url)
    monkeypatch.setenv("SUPPORT_HASH_SALT", SALT)
    for name, value in desk_credentials(vendor, CLIENT_ID, CLIENT_SECRET).items():
        monkeypatch.setenv(name, value)
    hashed, excluded = RULES[vendor]
    settings = dataclasses.replace(
        settings,
        vendor=vendor,
        api=preset(vendor),
        hash_columns=parse_rules(hashed),
        exclude_columns=parse_rules(excluded),
        hash_salt=True,
        history="scd2",
    )
    tickets = desk_server.truth("tickets")
    requester = requester_of(vendor, tickets[0])

    assert materialize(settings).success

    columns = set(
        rows(
            settings,
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'support'",
        )
    )
    for rule in settings.exclude_columns:
        tables = [rule.table] if rule.table else ["support_tickets", "ticket_comments"]
        assert not {(table, rule.path[0]) for table in tables} & columns
    field = "primary_customer" if vendor == "helpscout" else "requester_id"
    read = f"json_extract_string({field}, '$.id')" if vendor == "helpscout" else field
    stored = dict(rows(settings, f"select id, {read} from support.support_tickets"))
    assert stored[tickets[0]["id"]] == keyed_hash(SALT, requester)
    theirs = sorted(i for i, value in stored.items() if value == keyed_hash(SALT, requester))
    ids = ", ".join(map(str, theirs))
    their_comments = rows(
        settings, f"select count(*) from support.ticket_comments where ticket_id in ({ids})"
    )[0][0]
    assert their_comments > 0

    result = erase(settings, requester)

    assert result.success
    left = rows(settings, f"select count(*) from support.support_tickets where id in ({ids})")
    assert left == [(0,)]
    left = rows(
        settings, f"select count(*) from support.ticket_comments where ticket_id in ({ids})"
    )
    assert left == [(0,)]
    [output] = [e for e in result.all_events if e.is_successful_output]
    metadata = output.step_output_data.metadata["rows_removed"].data  # type: ignore[union-attr]
    assert metadata == {"support_tickets": len(theirs), "ticket_comments": their_comments}
