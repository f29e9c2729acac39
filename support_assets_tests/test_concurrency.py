"""Another process holding the DuckDB file: a clear message and a retried step."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import dagster as dg

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import TICKETS, failure_message, materialize, warehouse_rows

HOLD_LOCK = (
    "import duckdb, sys\n"
    "con = duckdb.connect(sys.argv[1])\n"
    "print('locked', flush=True)\n"
    "sys.stdin.readline()\n"
)


def test_a_locked_duckdb_file_reads_destination_busy_and_the_step_is_retried(
    api_env: SandboxServer, settings: Settings
) -> None:
    settings = dataclasses.replace(settings, lock_retry_wait=0.2, lock_retries=2)
    Path(settings.duckdb_path).parent.mkdir(parents=True, exist_ok=True)
    locker = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, settings.duckdb_path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
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
    finally:
        assert locker.stdin is not None
        locker.stdin.write("\n")
        locker.stdin.close()
        locker.wait(timeout=30)

    assert materialize(settings).success
    assert warehouse_rows(settings, "select count(*) from support.support_tickets") == [(TICKETS,)]
