"""The dlt pipeline: destination, dataset and a working directory per run."""

import contextlib
import dataclasses
import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import dlt
from dlt.common.destination import Destination
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from support_assets.settings import Settings
from support_assets.source import LoadWindow


class DestinationBusy(RuntimeError):
    """Another process holds the DuckDB file; the run is retried once the pool allows."""


@contextlib.contextmanager
def destination_lock_explained(settings: Settings) -> Iterator[None]:
    """Turn DuckDB's lock conflict (which dlt reports as a credentials problem) into words.

    The concurrency pool keeps two of our runs from writing at once; this is for the
    other writers (a notebook, a BI tool holding the file open) and it asks Dagster to
    retry the step later instead of failing the run.
    """
    try:
        yield
    except Exception as exc:
        if not _is_lock_conflict(exc):
            raise
        wait = settings.lock_retry_wait
        raise dg.RetryRequested(
            max_retries=settings.lock_retries, seconds_to_wait=wait
        ) from DestinationBusy(
            f"destination busy: another process holds {Path(settings.duckdb_path).absolute()} "
            f"(DuckDB allows one writer). Close it there; the step is retried in {wait:g} s, "
            f"{settings.lock_retries} times at most."
        )


def _is_lock_conflict(exc: BaseException | None) -> bool:
    while exc is not None:
        if "Could not set lock on file" in str(exc) or "Conflicting lock" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def destination_of(settings: Settings, full_refresh: bool = False) -> Destination:
    """DuckDB at `SUPPORT_DUCKDB_PATH` by default; any dlt destination by name otherwise.

    Credentials of other destinations come through dlt's own settings
    (`DESTINATION__POSTGRES__CREDENTIALS=postgresql://...` and the like).
    """
    # A full refresh loads into a staging dataset first and swaps the rows in one
    # transaction, so readers never see an empty table halfway.
    strategy: dict[str, Any] = {"replace_strategy": "insert-from-staging"} if full_refresh else {}
    if settings.destination == "duckdb":
        path = Path(settings.duckdb_path)
        if path.stem == settings.dataset:
            # DuckDB names the catalog after the file: `support.duckdb` holding schema
            # `support` makes every `support.x` reference ambiguous.
            raise ValueError(
                f"SUPPORT_DUCKDB_PATH={settings.duckdb_path!r} is named like the dataset "
                f"{settings.dataset!r}; DuckDB would report an ambiguous catalog. Rename one."
            )
        credentials = DuckDbCredentials(
            str(path.absolute()),
            # DuckDB takes up to 80% of the machine by default and keeps it; capped, the
            # merge spills to `<file>.tmp` instead, and a run's memory stops growing with
            # the data. Row order is not a promise of a merge, so DuckDB need not keep it.
            global_config={
                "memory_limit": settings.duckdb_memory_limit,
                "preserve_insertion_order": False,
            },
        )
        return dlt.destinations.duckdb(credentials=credentials, **strategy)
    destination = Destination.from_reference(settings.destination, **strategy)
    if destination is None:
        raise ValueError(f"SUPPORT_DESTINATION={settings.destination!r} is not a dlt destination")
    return destination


# Arrow pages skip dlt's row normalizer, which is what adds `_dlt_load_id` and `_dlt_id`;
# pages that fall back to dicts get them, so the Arrow ones must too, or one table would
# hold rows with and without them (and `_dlt_load_id` is NOT NULL).
_ARROW_NORMALIZER = {
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID": "true",
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID": "true",
}


def loader_file_format(settings: Settings) -> str | None:
    """Parquet into DuckDB (a bulk read of the pages' own files); dlt's choice elsewhere."""
    return "parquet" if settings.destination == "duckdb" else None


def support_pipeline(
    settings: Settings, working_dir: str | os.PathLike[str], full_refresh: bool = False
) -> dlt.Pipeline:
    """A pipeline whose local files live in `working_dir`, which belongs to one run.

    The incremental cursor is not kept there: dlt stores it with the data in the
    destination, and each run restores it from there.
    """
    os.environ.update(_ARROW_NORMALIZER)
    return dlt.pipeline(
        pipeline_name=settings.pipeline_name,
        pipelines_dir=str(working_dir),
        destination=destination_of(settings, full_refresh),
        dataset_name=settings.dataset,
    )


def run_working_dir(settings: Settings, run_id: str) -> Path:
    """`<SUPPORT_DLT_DIR>/runs/<run id>`: a run's own dlt files, never shared."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)
    return Path(settings.dlt_dir).absolute() / "runs" / safe


# Far enough that only the desk's clock bounds the window (see `window_end` in source.py).
_OPEN_END = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


def full_refresh_window(window: LoadWindow) -> LoadWindow:
    """A full refresh's window as dlt must see it: bounded, so the stored cursor is ignored.

    The rows are merged like every other load (one row per id, the newest `updated_at`
    winning, which dlt's `replace` ignores); the cursor stays, and the next incremental
    run reads from it as before.
    """
    return dataclasses.replace(window, end=_OPEN_END)


def drop_unread_rows(pipeline: dlt.Pipeline, tables: list[str]) -> int:
    """After a full refresh: delete the rows this run's load did not write, in one statement.

    What the merge left untouched is what the desk no longer serves (records it purged).
    Readers never see an empty table or two rows for one id; between the merge and this
    delete they see the purged records a moment longer.
    """
    trace = pipeline.last_trace
    info = trace.last_load_info if trace else None
    load_ids = list(info.loads_ids) if info else []
    if not load_ids or not tables:
        return 0
    deleted = 0
    with pipeline.sql_client() as client:
        marks = ", ".join(["%s"] * len(load_ids))
        for table in tables:
            name = client.make_qualified_table_name(table)
            rows = client.execute_sql(
                f"delete from {name} where _dlt_load_id not in ({marks}) returning 1", *load_ids
            )
            deleted += len(rows or [])
    return deleted
