"""The seed's configuration, translated onto dlt; vendors without a total."""

import dataclasses

from dlt.sources.rest_api import rest_api_resources

from support_assets.resources import SupportApiResource
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets.source import support_source
from support_assets.source.auth import SupportOAuth2
from support_assets.source.config import retry_policy_of, seed_config, to_dlt_config
from support_assets.source.contract import RETRY_STATUSES, ApiNames, RetryPolicy
from support_assets.source.paginator import WindowedOffsetPaginator
from support_assets_tests.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    TICKETS,
    failure_message,
    materialize,
    warehouse_rows,
)


def test_seed_config_keeps_the_seed_spelling() -> None:
    seed = seed_config()

    assert seed["client"]["auth"]["type"] == "oauth2"
    assert "token_url" in seed["client"]["auth"]
    assert seed["client"]["paginator"] == {
        "type": "offset",
        "limit": 100,
        "offset_param": "offset",
        "limit_param": "limit",
        "total_path": "total",
    }
    assert seed["resource_defaults"]["primary_key"] == "id"
    assert seed["resource_defaults"]["write_disposition"] == "merge"
    assert seed["resource_defaults"]["endpoint"]["error_handler"] == {
        "retry_statuses": [429, 500, 502, 503, 504],
        "max_retries": 3,
        "backoff_factor": 2.0,
    }
    assert [(r["name"], r["endpoint"]["data_selector"]) for r in seed["resources"]] == [
        ("support_tickets", "tickets"),
        ("ticket_comments", "comments"),
    ]


def test_seed_config_translates_into_a_config_dlt_accepts(sandbox: SandboxServer) -> None:
    connection = SupportApiResource(
        base_url=sandbox.url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    ).connect()

    config = to_dlt_config(seed_config(), connection, window=None)
    resources = rest_api_resources(config)  # raises on keys dlt does not know

    assert [r.name for r in resources] == ["support_tickets", "ticket_comments"]
    assert isinstance(config["client"]["auth"], SupportOAuth2)
    assert config["client"]["auth"].access_token_url == sandbox.token_url
    for resource in config["resources"]:
        assert "error_handler" not in resource["endpoint"]
        assert isinstance(resource["endpoint"]["paginator"], WindowedOffsetPaginator)
    # dlt masked the secret in its validation copy, not in the live helper.
    assert str(config["client"]["auth"].client_secret) == CLIENT_SECRET
    assert sandbox.stats()["requests"] == {}, "building the source sends nothing"


def test_seed_error_handler_becomes_the_session_retry_policy() -> None:
    seed = seed_config()
    seed["resource_defaults"]["endpoint"]["error_handler"] = {
        "retry_statuses": [429, 503],
        "max_retries": 5,
        "backoff_factor": 1.5,
    }

    policy = retry_policy_of(seed, RetryPolicy())

    assert policy == RetryPolicy(statuses=(429, 503), max_retries=5, backoff_factor=1.5)
    connection = SupportApiResource(
        base_url="http://127.0.0.1:9", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    ).connect()
    support_source(connection=connection, seed=seed)
    assert connection.session.policy == policy
    assert policy.max_attempts == 6
    assert retry_policy_of(seed_config(), RetryPolicy()).statuses == RETRY_STATUSES


def test_vendor_without_a_total_pages_until_a_short_page(
    api_env: SandboxServer, settings: Settings
) -> None:
    no_total = dataclasses.replace(settings, api=ApiNames(total_path=None))

    assert materialize(no_total).success

    assert warehouse_rows(settings, "select count(*) from support.support_tickets") == [(TICKETS,)]
    # Three pages of 100, 100 and 50: the short one ends the collection.
    assert api_env.stats()["requests"]["GET /v1/tickets"] == {"200": 3}


def test_missing_total_fails_naming_the_setting_without_printing_the_page(
    api_env: SandboxServer, settings: Settings
) -> None:
    wrong = dataclasses.replace(settings, api=ApiNames(total_path="count"))

    result = materialize(wrong)

    assert not result.success
    message = failure_message(result)
    assert "has no integer total at 'count'" in message
    assert "SUPPORT_TOTAL_PATH" in message
    first_subject = api_env.truth("tickets")[0]["subject"]
    assert first_subject not in message
