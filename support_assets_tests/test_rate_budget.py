"""One rate budget per desk, end to end: loads and workers against the sandbox's real window.

The sandbox's windows are shortened to a second or two and its budgets kept small, so a
load of a few dozen requests meets its budget several times within seconds.
"""

import dataclasses
import threading
from typing import Any

import dagster as dg

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets.source.connection import Connection, connect
from support_assets.source.contract import RetryPolicy
from support_assets_tests.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    COMMENTS,
    TICKETS,
    materialize,
    warehouse_rows,
)

DATA_ROUTES = ("GET /v1/tickets", "GET /v1/ticket_comments")
FAST = RetryPolicy(backoff_factor=0.01, max_wait=30.0, request_timeout=30.0)


def data_requests(stats: dict[str, Any]) -> int:
    return sum(sum(stats["requests"].get(route, {}).values()) for route in DATA_ROUTES)


def materializations(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    return {
        event.asset_key.path[-1]: {k: v.value for k, v in event.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()
    }


def loaded(settings: Settings) -> list[tuple[int, int]]:
    return warehouse_rows(
        settings,
        "select (select count(distinct id) from support.support_tickets), "
        "(select count(distinct id) from support.ticket_comments)",
    )


def with_page_size(settings: Settings, size: int, **changes: Any) -> Settings:
    return dataclasses.replace(
        settings, api=dataclasses.replace(settings.api, page_size=size), **changes
    )


def test_a_load_that_knows_its_budget_meets_almost_no_429(
    api_env: SandboxServer, settings: Settings
) -> None:
    # 20 requests a one-second window, advertised; the load takes about 40 requests, which
    # unpaced would go out in a fraction of a second.
    api_env.set_faults({"name": "rate_budget", "per_minute": 1200, "window": 1})
    settings = with_page_size(settings, 25)

    result = materialize(settings)

    assert result.success
    assert loaded(settings) == [(TICKETS, COMMENTS)]
    stats = api_env.stats()
    requests = data_requests(stats)
    assert requests >= 36
    assert stats["rate_limited"] <= requests // 100  # at most 1%: here none
    tickets = materializations(result)["support_tickets"]
    # The waiting was pacing, which the alerts do not read, not 429s, which they do.
    assert tickets["paced_wait_s"] > 0
    assert tickets["rate_limited_429"] == 0 and tickets["retry_after_wait_s"] == 0


def test_a_cap_below_a_hidden_budget_meets_no_429_at_all(
    api_env: SandboxServer, settings: Settings
) -> None:
    # Ten a one-second window, never advertised; the cap: eight a second, evenly.
    api_env.set_faults({"name": "rate_budget", "per_minute": 600, "window": 1, "advertised": 0})
    settings = with_page_size(settings, 50, max_requests_per_minute=480)

    result = materialize(settings)

    assert result.success
    assert loaded(settings) == [(TICKETS, COMMENTS)]
    stats = api_env.stats()
    assert data_requests(stats) >= 19 and stats["rate_limited"] == 0
    assert materializations(result)["support_tickets"]["paced_wait_s"] > 0


def run_workers(connections: list[Connection], per_worker: int, workers_each: int) -> None:
    """`workers_each` threads per connection, each reading `per_worker` distinct pages."""
    errors: list[BaseException] = []

    def work(connection: Connection, first: int) -> None:
        try:
            for n in range(per_worker):
                response = connection.session.get(
                    f"{connection.base_url}/v1/tickets",
                    params={"offset": first + n, "limit": 1},
                    headers={"Authorization": connection.auth.bearer()},
                )
                assert response.status_code == 200, response.status_code
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(connection, 100 * (i * workers_each + j)))
        for i, connection in enumerate(connections)
        for j in range(workers_each)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_workers_sharing_an_advertised_budget_meet_at_most_one_percent_429(
    sandbox: SandboxServer,
) -> None:
    # Two runs of two workers each, one desk: one budget, 30 requests a one-second window.
    runs = [connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, retry=FAST) for _ in range(2)]
    assert runs[0].session.budget is runs[1].session.budget
    sandbox.set_faults({"name": "rate_budget", "per_minute": 1800, "window": 1})

    run_workers(runs, per_worker=25, workers_each=2)

    stats = sandbox.stats()
    assert stats["requests"]["GET /v1/tickets"].get("200") == 100
    assert stats["rate_limited"] <= 1
    assert sum(run.telemetry.paced_wait_s for run in runs) > 0


def test_a_429_pauses_every_worker_of_every_run_until_it_passes(sandbox: SandboxServer) -> None:
    # Two runs of two workers, capped to one request every 0.2 s between them; the desk
    # allows five a two-second window and says nothing until the sixth, which meets a 429.
    runs = [connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, retry=FAST) for _ in range(2)]
    for run in runs:
        run.auth.bearer()  # the tokens first: the window starts with the data requests
    runs[0].session.budget.max_per_minute = 300
    sandbox.set_faults({"name": "rate_budget", "per_minute": 150, "window": 2, "advertised": 0})

    run_workers(runs, per_worker=2, workers_each=2)

    log = [e for e in sandbox.request_log() if e["route"] == "GET /v1/tickets"]
    statuses = [e["status"] for e in log]
    assert statuses == [200] * 5 + [429] + [200] * 3
    refused = log[5]
    after = log[6]
    # Nobody sent anything until the 429's Retry-After (at least a second) had passed:
    # without the shared pause, the next worker's turn came 0.2 s later.
    assert after["arrived"] - refused["answered"] >= 0.8
    held = sum(run.telemetry.held_wait_s for run in runs)
    assert held > 0 and sum(run.telemetry.retry_after_wait_s for run in runs) >= 1


def test_a_429_that_leaves_an_advertised_budget_unspent_holds_only_its_own_request(
    sandbox: SandboxServer,
) -> None:
    # The desk advertises an ample budget on every answer; a share of the pages still meets
    # a 429 with a Retry-After whose headers show budget left (an endpoint's own limit).
    runs = [connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, retry=FAST) for _ in range(2)]
    for run in runs:
        run.auth.bearer()
    sandbox.set_faults(
        {"name": "rate_budget", "per_minute": 60000, "window": 60},
        {"name": "rate_limit", "ratio": 0.3, "burst": 1, "retry_after": 1},
    )

    run_workers(runs, per_worker=5, workers_each=2)

    assert sum(run.telemetry.rate_limited for run in runs) >= 2
    # Only the request that got each 429 waited it; nobody was held by another's.
    assert sum(run.telemetry.held_wait_s for run in runs) == 0
