"""Property-based: whatever a client sends, the sandbox answers inside its own OpenAPI document."""

import copy
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import requests
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from support_assets.sandbox import SandboxServer
from support_assets_tests.sandbox.sandbox_fixtures import PATHS, Api, order_key

STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
SETTINGS = settings(
    max_examples=60,
    deadline=None,  # a loopback round trip, not the code under test, sets the pace
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def api(sandbox: SandboxServer) -> Iterator[Api]:
    sandbox.reset()
    client = Api(sandbox)
    client.login()
    yield client
    client.close()


class Oracle:
    """What the properties check against; a short repr keeps Hypothesis reports readable."""

    def __init__(self, api: Api, validators: dict, truth: dict[str, list[dict]]) -> None:
        self.api, self.validators, self.truth = api, validators, truth

    def __repr__(self) -> str:
        return "Oracle()"

    def check(self, method: str, path: str, response: requests.Response) -> None:
        assert response.status_code < 500, response.text
        self.validators[(method, path, response.status_code)].validate(response.json())


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 `nullable` to JSON Schema: null joins the type, or the oneOf choices."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
        elif "oneOf" in node:
            node["oneOf"] = [*node["oneOf"], {"type": "null"}]
    return node


@pytest.fixture(scope="module")
def oracle(api: Api) -> Oracle:
    """A validator per (method, path, status) from the document the sandbox serves."""
    spec = _json_schema(api.session.get(api.sandbox.url + "/openapi.json").json())
    result = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if "$ref" in response:
                    response = spec["components"]["responses"][response["$ref"].split("/")[-1]]
                schema = copy.deepcopy(response["content"]["application/json"]["schema"])
                schema["components"] = spec["components"]
                result[(method.upper(), path, int(status))] = jsonschema.Draft7Validator(schema)
    return Oracle(api, result, {resource: api.sandbox.truth(resource) for resource in PATHS})


timestamps = st.one_of(
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
    st.datetimes().map(lambda d: d.isoformat() + "+05:30"),
    st.datetimes().map(lambda d: d.isoformat()),  # no zone: a 400
    st.text(max_size=25),
)
integers = st.one_of(
    st.integers(min_value=-5, max_value=400).map(str), st.text(max_size=6), st.just("100")
)
queries = st.fixed_dictionaries(
    {},
    optional={
        "offset": integers,
        "limit": integers,
        "updated_since": timestamps,
        "updated_before": timestamps,
        "cursor": st.text(max_size=10),  # unknown parameters are ignored
    },
)


@SETTINGS
@given(resource=st.sampled_from(sorted(PATHS)), query=queries)
def test_any_query_gets_a_200_or_400_inside_the_schema(
    oracle: Oracle, resource: str, query: dict[str, str]
) -> None:
    response = oracle.api.get(resource, **query)
    oracle.check("GET", PATHS[resource], response)
    event(f"status {response.status_code}")
    assert response.status_code in (200, 400)
    if response.status_code != 200:
        assert response.json()["error"] == "invalid_request"
        return
    body = response.json()
    records = body[resource]
    assert all(
        STAMP.fullmatch(r["updated_at"]) and STAMP.fullmatch(r["created_at"]) for r in records
    )
    assert [order_key(r) for r in records] == sorted(order_key(r) for r in records)
    # The page is exactly the truth's filtered slice (no mutations run in this module).
    since, before = query.get("updated_since"), query.get("updated_before")
    window = [
        r
        for r in oracle.truth[resource]
        if (since is None or r["updated_at"] >= _utc(since))
        and (before is None or r["updated_at"] < _utc(before))
    ]
    assert body["total"] == len(window)
    assert records == window[body["offset"] : body["offset"] + body["limit"]]


def _utc(value: str) -> str:
    """The first whole UTC second at or after an instant, in the records' own format."""
    from datetime import UTC, datetime, timedelta

    moment = datetime.fromisoformat(value)
    whole = moment.replace(microsecond=0)
    if whole != moment:
        whole += timedelta(seconds=1)
    return whole.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"  # zero-padded year


latin1 = st.text(st.characters(max_codepoint=255), max_size=8)  # what Basic auth can carry


@SETTINGS
@given(
    form=st.dictionaries(
        st.sampled_from(["grant_type", "client_id", "client_secret", "scope"]),
        st.one_of(
            st.sampled_from(["client_credentials", "sandbox-client", "sandbox-secret"]),
            st.text(max_size=12),
        ),
    ),
    basic=st.one_of(st.none(), st.tuples(latin1, latin1)),
)
def test_any_token_request_gets_a_200_400_or_401_inside_the_schema(
    oracle: Oracle, form: dict[str, str], basic: tuple[str, str] | None
) -> None:
    response = oracle.api.token(form, basic)
    oracle.check("POST", "/oauth/token", response)
    assert response.status_code in (200, 400, 401)


@SETTINGS
@given(
    authorization=st.text(max_size=40).filter(
        lambda s: s.isascii() and s.isprintable() and s == s.strip()
    )
)
def test_any_authorization_header_other_than_a_token_gets_401(
    oracle: Oracle, authorization: str
) -> None:
    url = oracle.api.sandbox.url + "/v1/tickets"
    response = requests.get(url, headers={"Authorization": authorization}, timeout=10)
    oracle.check("GET", "/v1/tickets", response)
    assert response.status_code == 401
