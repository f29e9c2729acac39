"""The source's errors: one class per cause, all under `SupportApiError`."""

import inspect

import pytest

from support_assets.source import errors
from support_assets.source.errors import (
    ApiUnreachable,
    DuplicateIdInPage,
    MalformedPage,
    RecordsWithoutId,
    SupportApiError,
    UnusableIds,
)

# Every class the module defines, found rather than listed, so a new one is checked too.
CLASSES = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if cls.__module__ == errors.__name__
]


def test_the_module_defines_one_class_per_cause() -> None:
    assert sorted(cls.__name__ for cls in CLASSES) == [
        "ApiUnreachable",
        "CredentialsRejected",
        "DuplicateIdInPage",
        "IncompleteWindow",
        "MalformedPage",
        "RecordsWithoutId",
        "RequestRefused",
        "RetryAfterTooLong",
        "SupportApiError",
        "UnloadableValue",
        "UnusableIds",
    ]


@pytest.mark.parametrize("cls", CLASSES, ids=[cls.__name__ for cls in CLASSES])
def test_every_error_is_a_support_api_error_and_a_runtime_error(cls: type[Exception]) -> None:
    # One family to catch for every cause the source reports; a plain dlt caller that knows
    # nothing of this package sees a RuntimeError.
    assert issubclass(cls, SupportApiError)
    assert issubclass(cls, RuntimeError)


def test_an_unreachable_api_keeps_what_went_wrong_without_its_cause() -> None:
    error = ApiUnreachable("ConnectionError after 4 attempts on GET /v1/tickets", "ConnectionError")

    assert error.error_type == "ConnectionError"
    assert str(error) == "ConnectionError after 4 attempts on GET /v1/tickets"


@pytest.mark.parametrize(
    ("cls", "family"),
    [(DuplicateIdInPage, MalformedPage), (UnusableIds, RecordsWithoutId)],
    ids=["duplicate-id-is-a-malformed-page", "unusable-ids-are-records-without-id"],
)
def test_a_narrower_cause_is_caught_with_its_family(
    cls: type[SupportApiError], family: type[SupportApiError]
) -> None:
    with pytest.raises(family):
        raise cls("one page lists id 7 twice")
