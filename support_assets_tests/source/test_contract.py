"""The reference contract: the vendor's names per resource, and the retry policy's arithmetic."""

import pytest

from support_assets.source.contract import (
    COMMENTS_RESOURCE,
    DEFAULT_API,
    DEFAULT_RETRY,
    TICKETS_RESOURCE,
    ApiNames,
    EndpointNames,
    RetryPolicy,
)


@pytest.mark.parametrize(
    ("policy", "waits"),
    [
        (DEFAULT_RETRY, [2.0, 4.0, 8.0, 16.0]),
        (RetryPolicy(backoff_factor=0.5), [0.5, 1.0, 2.0, 4.0]),
        # Never longer than the longest wait the policy allows.
        (RetryPolicy(backoff_factor=2.0, max_wait=5.0), [2.0, 4.0, 5.0, 5.0]),
    ],
    ids=["default", "factor-0.5", "capped-at-max-wait"],
)
def test_backoff_doubles_per_retry_from_the_factor_up_to_the_maximum_wait(
    policy: RetryPolicy, waits: list[float]
) -> None:
    assert [policy.backoff(n) for n in (1, 2, 3, 4)] == waits


@pytest.mark.parametrize(
    ("retries", "attempts"), [(3, 4), (0, 1), (5, 6)], ids=["default", "none", "five"]
)
def test_attempts_are_the_first_one_plus_the_retries(retries: int, attempts: int) -> None:
    assert RetryPolicy(max_retries=retries).max_attempts == attempts


def test_the_default_policy_retries_429_and_5xx_three_times_by_a_factor_of_two() -> None:
    assert DEFAULT_RETRY == RetryPolicy(
        statuses=(429, 500, 502, 503, 504),
        max_retries=3,
        backoff_factor=2.0,
        max_wait=300.0,
        request_timeout=60.0,
    )


@pytest.mark.parametrize(
    ("resource", "names"),
    [
        (TICKETS_RESOURCE, EndpointNames("/v1/tickets", "tickets")),
        (COMMENTS_RESOURCE, EndpointNames("/v1/ticket_comments", "comments")),
    ],
    ids=["tickets", "comments"],
)
def test_each_resource_has_the_reference_contracts_path_and_selector(
    resource: str, names: EndpointNames
) -> None:
    assert DEFAULT_API.endpoint(resource) == names


def test_a_vendors_names_are_found_by_the_dlt_resource_name() -> None:
    vendor = ApiNames(
        tickets=EndpointNames("/api/v2/incremental/tickets", "results"),
        comments=EndpointNames("/api/v2/comments", "items"),
    )

    assert vendor.endpoint("support_tickets") == EndpointNames(
        "/api/v2/incremental/tickets", "results"
    )
    assert vendor.endpoint("ticket_comments") == EndpointNames("/api/v2/comments", "items")


def test_a_resource_the_contract_does_not_know_has_no_endpoint() -> None:
    with pytest.raises(KeyError, match="tickets"):
        DEFAULT_API.endpoint("tickets")  # the vendor's name, not the dlt resource's
