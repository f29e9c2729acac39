"""dlt's workarounds: run objects that survive its deep copy, a quiet notice, Arrow's columns."""

import copy
import logging
import os
from collections.abc import Callable

import pytest

from support_assets.source.contract import DEFAULT_RETRY
from support_assets.source.page_check import PageCheck
from support_assets.source.session import RetryingSession
from support_assets.source.telemetry import Telemetry
from support_assets.source.window import ServerClock
from support_assets.source.workarounds import (
    SharedInRun,
    add_dlt_columns_to_arrow_pages,
    quiet_json_as_text_notice,
)

NOTICE = (
    "In resource: support_tickets, when merging arrow schema with dlt schema, several column "
    "hints were different. dlt schema hints were kept and arrow schema and data were "
    "unmodified. It is up to destination to coerce the differences when loading. Change log "
    "level to INFO for more details."
)
# dlt's INFO line naming the hint that differed: kept, it says what the notice summed up.
DETAIL = (
    "In resource: support_tickets, when merging arrow schema on column tags. The hint "
    "data_type value json defined in resource will overwrite arrow hint with value text."
)


RUN_OBJECTS: list[Callable[[], SharedInRun]] = [
    Telemetry,
    lambda: RetryingSession(DEFAULT_RETRY, Telemetry()),
    lambda: PageCheck("support_tickets", "tickets", "id", "offset", Telemetry()),
    ServerClock,
]


@pytest.mark.parametrize("build", RUN_OBJECTS, ids=["telemetry", "session", "page-check", "clock"])
def test_a_run_object_survives_dlts_deep_copy_as_the_same_object(
    build: Callable[[], SharedInRun],
) -> None:
    shared = build()
    # What dlt's rest_api does to the whole configuration before it builds the resources.
    config = {"client": {"session": shared}, "resources": [{"response_actions": [shared]}]}

    copied = copy.deepcopy(config)

    assert copied is not config
    assert copied["client"]["session"] is shared
    assert copied["resources"][0]["response_actions"][0] is shared


@pytest.fixture
def dlt_filters(monkeypatch: pytest.MonkeyPatch) -> list[logging.Filter]:
    """dlt's logger with no filter yet; whatever this test installs is removed after it."""
    logger = logging.getLogger("dlt")
    monkeypatch.setattr(logger, "filters", [])
    return logger.filters


def record(message: str, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("dlt", level, "extractors.py", 553, message, None, None)


def test_the_json_as_text_notice_is_dropped_and_nothing_else(
    dlt_filters: list[logging.Filter],
) -> None:
    quiet_json_as_text_notice()
    logger = logging.getLogger("dlt")

    assert not logger.filter(record(NOTICE))
    assert logger.filter(record(DETAIL, logging.INFO))
    assert logger.filter(record("Load package 1767225600.1 is loaded"))
    assert logger.filter(record("when merging arrow schema"))  # a fragment is not the notice


def test_the_notice_filter_is_installed_once_however_often_a_source_is_built(
    dlt_filters: list[logging.Filter],
) -> None:
    for _ in range(3):
        quiet_json_as_text_notice()

    assert len(dlt_filters) == 1


def test_arrow_pages_get_dlts_loader_columns_even_where_the_environment_said_no(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = (
        "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID",
        "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID",
    )
    for name in names:
        monkeypatch.setenv(name, "false")  # and restored to what it was after the test

    add_dlt_columns_to_arrow_pages()

    assert {name: os.environ[name] for name in names} == dict.fromkeys(names, "true")
