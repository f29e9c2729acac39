"""The dlt pipeline of a run: destination, dataset, working directory, and its guards."""

import contextlib
import datetime as dt
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import dlt
from dlt.common.destination import Destination
from dlt.common.pipeline import LoadInfo
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from support_assets.settings import Settings, SettingsError, memory_bytes
from support_assets.source.contract import SOURCE_NAME
from support_assets.source.telemetry import Telemetry
from support_assets.source.timestamps import aware
from support_assets.source.workarounds import add_dlt_columns_to_arrow_pages


class DestinationBusy(RuntimeError):
    """Another process holds the DuckDB file; the run is retried once the pool allows."""


@contextlib.contextmanager
def destination_lock_explained(settings: Settings, retry_number: int = 0) -> Iterator[None]:
    """Turn DuckDB's lock conflict (which dlt reports as a credentials problem) into words.

    The concurrency pool keeps two of our runs from writing at once; this is for the
    other writers (a notebook, a BI tool holding the file open) and it asks Dagster to
    retry the step later instead of failing the run. `retry_number` is the step's: once
    the retries are spent the message must say so, not promise another one.
    """
    try:
        yield
    except Exception as exc:
        if not _is_lock_conflict(exc):
            raise
        if retry_number >= settings.lock_retries:
            raise DestinationBusy(
                f"destination busy: another process holds "
                f"{Path(settings.duckdb_path).absolute()} (DuckDB allows one writer), still "
                f"after {retry_number} retries {settings.lock_retry_wait:g} s apart. Close it "
                "there and run again (SUPPORT_LOCK_RETRIES, SUPPORT_LOCK_RETRY_WAIT)."
            ) from None
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


def destination_of(settings: Settings) -> Destination:
    """DuckDB at `SUPPORT_DUCKDB_PATH` by default; any dlt destination by name otherwise.

    Credentials of other destinations come through dlt's own settings
    (`DESTINATION__POSTGRES__CREDENTIALS=postgresql://...` and the like).
    """
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
        return dlt.destinations.duckdb(credentials=credentials)
    destination = Destination.from_reference(settings.destination)
    if destination is None:
        raise ValueError(f"SUPPORT_DESTINATION={settings.destination!r} is not a dlt destination")
    return destination


# DuckDB holds a value several times over while it loads and merges a row (the Parquet
# page, the string vector, the merge's copy): a 12 MB body needed between 26 and 39 MB.
RECORD_MEMORY_FACTOR = 4


class RecordTooLarge(RuntimeError):
    """DuckDB ran out of memory even with its cap raised for the largest record."""


def fit_memory_limit(pipeline: dlt.Pipeline, settings: Settings) -> Callable[[int], None]:
    """A hook that raises DuckDB's cap for this run's load when a record needs more.

    The cap (SUPPORT_DUCKDB_MEMORY_LIMIT) keeps a load's memory flat as tables grow, but
    DuckDB cannot spill a single value: a comment body larger than the cap failed every
    run. The page check reports each large record's size during extract, before the load
    opens its connection, and the load then runs with enough room for that record; runs
    without such records keep the configured cap. dlt shares the credentials'
    `global_config` dict with the load's connection pool, so raising it here is enough.
    """
    credentials = (pipeline.destination.config_params or {}).get("credentials")
    config = getattr(credentials, "global_config", None)
    if settings.destination != "duckdb" or not isinstance(config, dict):
        return lambda size: None
    cap = memory_bytes(settings.duckdb_memory_limit)

    def fit(record_bytes: int) -> None:
        needed = record_bytes * RECORD_MEMORY_FACTOR
        if needed > max(cap, memory_bytes(str(config.get("memory_limit", "0B")))):
            config["memory_limit"] = f"{-(-needed // 1024**2)}MiB"

    return fit


@contextlib.contextmanager
def out_of_memory_explained(settings: Settings, largest: Callable[[], str]) -> Iterator[None]:
    """Name the setting and the largest record when DuckDB runs out of memory anyway."""
    try:
        yield
    except Exception as exc:
        cause: BaseException | None = exc
        while cause is not None and "Out of Memory Error" not in str(cause):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            raise
        said = next(line for line in str(cause).splitlines() if "Out of Memory Error" in line)
        said = said[said.index("Out of Memory Error") :]
        raise RecordTooLarge(
            f"DuckDB ran out of memory loading this run ({said}) with "
            f"SUPPORT_DUCKDB_MEMORY_LIMIT={settings.duckdb_memory_limit}, raised to fit "
            f"the largest record ({largest()}). Nothing from this run was loaded and the "
            "cursor did not move; raise SUPPORT_DUCKDB_MEMORY_LIMIT, or free memory on "
            "this machine."
        ) from None


def loader_file_format(settings: Settings) -> str | None:
    """Parquet into DuckDB (a bulk read of the pages' own files); dlt's choice elsewhere."""
    return "parquet" if settings.destination == "duckdb" else None


def support_pipeline(settings: Settings, working_dir: str | os.PathLike[str]) -> dlt.Pipeline:
    """A pipeline whose local files live in `working_dir`, which belongs to one run.

    The incremental cursor is not kept there: dlt stores it with the data in the
    destination, and each run restores it from there.
    """
    add_dlt_columns_to_arrow_pages()
    return dlt.pipeline(
        pipeline_name=settings.pipeline_name,
        pipelines_dir=str(working_dir),
        destination=destination_of(settings),
        dataset_name=settings.dataset,
    )


def run_working_dir(settings: Settings, run_id: str) -> Path:
    """`<SUPPORT_DLT_DIR>/runs/<run id>`: a run's own dlt files, never shared."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)
    return Path(settings.dlt_dir).absolute() / "runs" / safe


def definition_working_dir(settings: Settings) -> Path:
    """`<SUPPORT_DLT_DIR>/definitions/<destination>`: the load-time pipeline's own place.

    That pipeline only names the assets, but dlt still keeps state beside it: one shared
    temp path mixed users and projects, and a Postgres setup read a DuckDB setup's state.
    """
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", settings.destination)
    return Path(settings.dlt_dir).absolute() / "definitions" / safe


def remove_old_run_dirs(settings: Settings, current_run_id: str) -> list[Path]:
    """Delete run folders older than `SUPPORT_RUN_FILES_MAX_AGE_HOURS`; returns them.

    A run that succeeds deletes its own folder, but a failed or killed one cannot, and
    its extracted pages are customer records: they may stay for debugging, not forever.
    """
    runs = Path(settings.dlt_dir).absolute() / "runs"
    current = run_working_dir(settings, current_run_id)
    horizon = time.time() - settings.run_files_max_age_hours * 3600
    removed: list[Path] = []
    for folder in sorted(runs.iterdir()) if runs.is_dir() else []:
        with contextlib.suppress(FileNotFoundError):  # another run's cleanup got there first
            if folder != current and folder.is_dir() and folder.stat().st_mtime < horizon:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


@contextlib.contextmanager
def duckdb_file_guarded(settings: Settings) -> Iterator[None]:
    """Fail early on a DuckDB path that cannot be written; leave no file behind a failure.

    dlt reports an unwritable file as "check credentials ... internet connection may be
    down", and a run that fails before its first page (a wrong secret) would otherwise
    leave an empty warehouse file that looks like a load happened.
    """
    if settings.destination != "duckdb":
        yield
        return
    path = Path(settings.duckdb_path).absolute()
    _require_writable(settings.duckdb_path, path)
    companions = [path, path.with_name(path.name + ".wal"), path.with_name(path.name + ".tmp")]
    created = [p for p in companions if not p.exists()]
    try:
        yield
    except BaseException:
        if path in created:  # this run made the file: put the warehouse back as it was
            for leftover in created:
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)
        raise


def _require_writable(setting_value: str, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("r+b"):
                pass
        else:
            with tempfile.TemporaryFile(dir=path.parent):
                pass
    except OSError as exc:
        raise SettingsError(
            f"SUPPORT_DUCKDB_PATH={setting_value!r} cannot be written ({exc.strerror or exc}). "
            "Point SUPPORT_DUCKDB_PATH at a file in a directory this user may write to."
        ) from None


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


def query_scalar(pipeline: dlt.Pipeline, sql: str) -> Any:
    """The single value of a query; None when its table does not exist (yet)."""
    try:
        with pipeline.sql_client() as client:
            rows = client.execute_sql(sql)
    except DatabaseUndefinedRelation:  # a first run that loaded nothing has no table yet
        return None
    return rows[0][0] if rows else None


def qualified(pipeline: dlt.Pipeline, table: str) -> str:
    """The destination's name for a dataset table."""
    with pipeline.sql_client() as client:
        return client.make_qualified_table_name(table)


def row_count(pipeline: dlt.Pipeline, table: str) -> int:
    """Rows in a dataset table; 0 when it does not exist yet."""
    return int(query_scalar(pipeline, f"select count(*) from {qualified(pipeline, table)}") or 0)


def stored_cursors(pipeline: dlt.Pipeline, cursor_field: str) -> dict[str, dt.datetime]:
    """Each resource's incremental cursor as the pipeline's dlt state holds it, by resource."""
    resources = pipeline.state.get("sources", {}).get(SOURCE_NAME, {}).get("resources", {})
    cursors: dict[str, dt.datetime] = {}
    for name, state in resources.items():
        value = state.get("incremental", {}).get(cursor_field, {}).get("last_value")
        if isinstance(value, dt.datetime | str):
            with contextlib.suppress(ValueError):  # telemetry never fails a load
                cursors[name] = aware(value)
    return cursors


# Metadata key: the columns a load added, by table.
SCHEMA_CHANGES = "schema_changes"


def schema_changes(pipeline: dlt.Pipeline) -> dict[str, list[str]]:
    """Columns the last load added, by table: what the UI shows when the API's shape moved."""
    trace = pipeline.last_trace
    load_info: LoadInfo | None = trace.last_load_info if trace else None
    changes: dict[str, list[str]] = {}
    for package in load_info.load_packages if load_info else []:
        for table, schema in (package.schema_update or {}).items():
            if not table.startswith("_dlt"):
                changes.setdefault(table, []).extend(sorted(schema.get("columns", {})))
    return changes


class SupportLoad:
    """One run's pipeline, in a working directory of its own, with every guard around it.

    Entering it clears the directory (a retried step starts clean, as a new run would; dlt
    restores the cursor from the destination), removes old runs' folders, syncs the state
    from the destination and reads the cursors as they were before the run. Errors are
    put in words: a file that cannot be written, another process holding DuckDB (the step
    is retried), DuckDB out of memory. Leaving it after a success deletes the directory,
    unless `SUPPORT_KEEP_RUN_FILES` is set.
    """

    def __init__(
        self,
        settings: Settings,
        run_id: str,
        retry_number: int,
        telemetry: Telemetry,
        log: logging.Logger,
    ) -> None:
        self.settings = settings
        self.run_id = run_id
        self.working_dir = run_working_dir(settings, run_id)
        self.cursors_before: dict[str, dt.datetime] = {}
        self._telemetry = telemetry
        self._log = log
        self._guards = contextlib.ExitStack()
        self._retry_number = retry_number

    def __enter__(self) -> "SupportLoad":
        shutil.rmtree(self.working_dir, ignore_errors=True)
        self.pipeline = support_pipeline(self.settings, self.working_dir)
        for folder in remove_old_run_dirs(self.settings, self.run_id):
            self._log.info(f"Removed the dlt files of an old run: {folder.name}.")
        self._telemetry.on_large_record = fit_memory_limit(self.pipeline, self.settings)
        guards = self._guards.__enter__()
        try:
            guards.enter_context(duckdb_file_guarded(self.settings))
            guards.enter_context(destination_lock_explained(self.settings, self._retry_number))
            guards.enter_context(
                out_of_memory_explained(self.settings, self._telemetry.describe_largest_record)
            )
            # The cursors as the destination holds them before this run (dlt restores them
            # the same way when the run starts), for the "before" half of the metadata.
            self.pipeline.sync_destination()
            self.cursors_before = stored_cursors(self.pipeline, self.settings.api.cursor_field)
        except BaseException:
            if not self._guards.__exit__(*sys.exc_info()):
                raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._guards.__exit__(*exc_info)  # the guards translate errors, never swallow them
        if exc_info[0] is None and not self.settings.keep_run_files:
            shutil.rmtree(self.working_dir, ignore_errors=True)
