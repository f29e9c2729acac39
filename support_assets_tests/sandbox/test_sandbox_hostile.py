"""Hostile cases serve exactly the deviation asked for, and nothing else changes."""

import orjson
import pytest

from support_assets.sandbox import SandboxError, SandboxServer
from support_assets_tests.sandbox.sandbox_fixtures import Api


def test_a_record_case_patches_and_rewrites_that_record_only(
    sandbox: SandboxServer, api: Api
) -> None:
    clean = api.page("tickets", offset=0, limit=10)["tickets"]
    target, other = clean[3]["id"], clean[4]["id"]
    sandbox.set_hostile(
        {
            "resource": "tickets",
            "record": target,
            "patch": {"id": 1.5, "subject": "__X__"},
            "replace": [(b'"__X__"', b"NaN")],
        }
    )

    raw = api.get("tickets", offset=0, limit=10).content

    assert b'"id":1.5,' in raw and b'"subject":NaN' in raw
    assert orjson.loads(raw.replace(b"NaN", b"null"))["tickets"][4] == clean[4]
    assert [r["id"] for r in sandbox.truth("tickets")].count(target) == 1
    assert other in [r["id"] for r in sandbox.truth("tickets")]


@pytest.mark.parametrize(
    ("case", "expected_start", "expected_total"),
    [
        ({"total": "string"}, b'{"tickets":[', b'"total":"250"'),
        ({"total": "absent"}, b'{"tickets":[', None),
        ({"prefix": b"\xef\xbb\xbf"}, b'\xef\xbb\xbf{"tickets":[', b'"total":250'),
    ],
    ids=["total-as-string", "total-absent", "bom"],
)
def test_a_page_case_rewrites_the_page_at_its_offset(
    sandbox: SandboxServer,
    api: Api,
    case: dict[str, object],
    expected_start: bytes,
    expected_total: bytes | None,
) -> None:
    sandbox.set_hostile({"resource": "tickets", "offset": 10, **case})

    hostile = api.get("tickets", offset=10, limit=10).content
    clean = api.get("tickets", offset=20, limit=10).content

    assert hostile.startswith(expected_start)
    if expected_total is None:
        assert b'"total"' not in hostile and b'],"offset":10,' in hostile
    else:
        assert expected_total in hostile
    assert b'"total":250,' in clean
    sandbox.set_hostile()
    assert b'"total":250,' in api.get("tickets", offset=10, limit=10).content


def test_a_bad_hostile_case_is_refused_with_the_reason(sandbox: SandboxServer) -> None:
    with pytest.raises(SandboxError, match="either a record"):
        sandbox.set_hostile({"resource": "tickets"})
