"""The total, end to end: a vendor that sends none, and a total path that finds none."""

import dataclasses

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets.source.contract import ApiNames
from support_assets_tests.helpers import (
    TICKETS,
    failure_message,
    materialize,
    warehouse_rows,
)


def test_vendor_without_a_total_pages_until_an_empty_page(
    api_env: SandboxServer, settings: Settings
) -> None:
    no_total = dataclasses.replace(settings, api=ApiNames(total_path=None))

    assert materialize(no_total).success

    assert warehouse_rows(settings, "select count(*) from support.support_tickets") == [(TICKETS,)]
    # Pages of 100, 100, 50 and an empty one: a short page is not the end of data (a desk
    # may serve fewer than asked), the desk's own end signal is.
    assert api_env.stats()["requests"]["GET /v1/tickets"] == {"200": 4}


def test_the_last_pages_before_an_empty_page_reach_the_warehouse_when_read_in_parts(
    api_env: SandboxServer, settings: Settings
) -> None:
    # Time parts are read on threads: the reader has not yet learnt that the last page with
    # records was the last (it takes the empty page's answer, held up here) when the loader
    # takes that page. The records batched so far must still be written when the parts end.
    api_env.set_faults({"name": "latency", "ms": 50})
    no_total = dataclasses.replace(settings, api=ApiNames(total_path=None))

    assert materialize(no_total).success

    assert warehouse_rows(settings, "select count(*) from support.support_tickets") == [(TICKETS,)]
    comments = len(api_env.truth("comments"))
    assert warehouse_rows(settings, "select count(*) from support.ticket_comments") == [(comments,)]


def test_a_page_size_parameter_set_empty_is_never_sent(
    api_env: SandboxServer, settings: Settings
) -> None:
    unsized = dataclasses.replace(settings, api=ApiNames(limit_param=None))

    assert materialize(unsized).success

    # The desk's own page size (100 here) applies: the same pages as when it is sent.
    assert warehouse_rows(settings, "select count(*) from support.support_tickets") == [(TICKETS,)]
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
