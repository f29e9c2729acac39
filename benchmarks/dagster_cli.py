"""Contenders 3 to 5: the code location through the real `dagster asset materialize` CLI.

The command a user types for today's partition: `--select '*'` runs whatever the code
location defines on the assets, asset checks included. Only the harness imports this
module (the floor and bare dlt run from modules of their own), so Dagster's imports cost
none of the contenders anything.
"""

import contextlib
import datetime as dt
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from support_assets.source.telemetry import DURATION_S

LOCATION = "support_assets.definitions"
# Both assets come from one dlt run and carry its one timing; either one tells it.
TIMED_ASSET = dg.AssetKey("support_tickets")


def today_partition() -> str:
    """Today's UTC partition: the open one, which the assets read incrementally."""
    return dt.datetime.now(dt.UTC).date().isoformat()


def materialize_command() -> list[str]:
    """Both assets for today's partition, through the `dagster` of this interpreter's venv."""
    dagster = str(Path(sys.executable).parent / "dagster")
    command = [dagster, "asset", "materialize", "--select", "*"]
    return [*command, "--partition", today_partition(), "-m", LOCATION]


def work_s(dagster_home: Path, since: float) -> float | None:
    """The asset body's own seconds, as its materialization recorded them in the instance.

    Read after the CLI exited, from the instance it wrote to. Only a materialization newer
    than `since` (the contender's launch) counts: the incremental contenders share their
    instance with the full load before them. None when there is none, or it has no timing.
    """
    records_filter = dg.AssetRecordsFilter(asset_key=TIMED_ASSET, after_timestamp=since)
    with _dagster_home(dagster_home), dg.DagsterInstance.get() as instance:
        records = instance.fetch_materializations(records_filter, limit=1).records
    materialization = records[0].asset_materialization if records else None
    duration = materialization.metadata.get(DURATION_S) if materialization else None
    if isinstance(duration, dg.FloatMetadataValue | dg.IntMetadataValue):
        seconds = duration.value
        return float(seconds) if seconds is not None else None
    return None


@contextlib.contextmanager
def _dagster_home(path: Path) -> Iterator[None]:
    """`DAGSTER_HOME` for this process while it lasts: `DagsterInstance.get()` reads it.

    The harness never sets it otherwise (each contender gets its own in its environment),
    and the instance's public constructor takes no directory.
    """
    before = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(path)
    try:
        yield
    finally:
        if before is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = before
