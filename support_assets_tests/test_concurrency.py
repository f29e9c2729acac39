"""Another process holding the DuckDB file: a clear message and a retried step."""

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster_dlt import DagsterDltResource

from support_assets.definitions import build_definitions
from support_assets.resources import SupportApiResource
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets.source.connection import Connection
from support_assets_tests.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    COMMENTS,
    TICKETS,
    failure_message,
    holding_duckdb_lock,
    materialize,
    today,
    warehouse_rows,
)


def test_a_locked_duckdb_file_reads_destination_busy_and_the_step_is_retried(
    api_env: SandboxServer, settings: Settings
) -> None:
    settings = dataclasses.replace(settings, lock_retry_wait=0.2, lock_retries=2)
    with holding_duckdb_lock(settings.duckdb_path):
        instance = dg.DagsterInstance.ephemeral()

        result = materialize(settings, instance=instance)

        assert not result.success
        message = failure_message(result)
        assert f"destination busy: another process holds {settings.duckdb_path}" in message
        retries = [
            e
            for e in instance.all_logs(result.run_id)
            if e.dagster_event is not None
            and e.dagster_event.event_type_value == "STEP_UP_FOR_RETRY"
        ]
        assert len(retries) == 2

    assert materialize(settings).success
    assert warehouse_rows(settings, "select count(*) from support.support_tickets") == [(TICKETS,)]


LOCK_ON_DEMAND = (
    "import duckdb, sys\n"
    "con = None\n"
    "for line in sys.stdin:\n"
    "    if line.strip() == 'lock':\n"
    "        con = duckdb.connect(sys.argv[1])\n"
    "    elif con is not None:\n"
    "        con.close()\n"
    "        con = None\n"
    "    print(line.strip() + 'ed', flush=True)\n"
)


class Locker:
    """Another process that takes and releases the DuckDB file when told."""

    def __init__(self, path: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", LOCK_ON_DEMAND, path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.locked = False

    def tell(self, command: str) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == f"{command}ed"
        self.locked = command == "lock"

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


LOCKERS: dict[str, Locker] = {}


class LockedRightAfterTheLoad(DagsterDltResource):
    """dagster-dlt's resource; once its first load has committed, another process takes
    the DuckDB file."""

    def run(self, context: Any, **kwargs: Any) -> Iterator[Any]:  # pyright: ignore[reportIncompatibleMethodOverride]
        events = list(super().run(context=context, **kwargs))
        if "loaded" not in LOCKERS:
            LOCKERS["loaded"] = LOCKERS["locker"]
            LOCKERS["locker"].tell("lock")
        yield from events


class ReleasedWhenTheStepComesBack(SupportApiResource):
    """The run's API credentials; the other process lets go when the step is retried."""

    def connect(self, *args: Any, **kwargs: Any) -> Connection:
        if LOCKERS["locker"].locked:
            LOCKERS["locker"].tell("unlock")
        return super().connect(*args, **kwargs)


def test_a_lock_taken_between_the_load_and_its_row_counts_retries_the_step(
    api_env: SandboxServer, settings: Settings
) -> None:
    settings = dataclasses.replace(settings, lock_retry_wait=0.2, lock_retries=2)
    LOCKERS.clear()
    LOCKERS["locker"] = locker = Locker(settings.duckdb_path)
    try:
        defs = build_definitions(settings)
        instance = dg.DagsterInstance.ephemeral()

        result = dg.materialize(
            [defs.get_assets_def("support_tickets")],
            resources={
                **(defs.resources or {}),
                "dlt": LockedRightAfterTheLoad(),
                "support_api": ReleasedWhenTheStepComesBack(
                    base_url=api_env.url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
                ),
            },
            partition_key=today(),
            instance=instance,
            raise_on_error=False,
        )

        assert result.success, failure_message(result)
        retries = [
            e
            for e in instance.all_logs(result.run_id)
            if e.dagster_event is not None
            and e.dagster_event.event_type_value == "STEP_UP_FOR_RETRY"
        ]
        assert len(retries) == 1
        counts = {
            event.asset_key.path[-1]: event.materialization.metadata["dagster/row_count"].value
            for event in result.get_asset_materialization_events()
        }
        assert counts == {"support_tickets": TICKETS, "ticket_comments": COMMENTS}
    finally:
        locker.close()
        LOCKERS.clear()
