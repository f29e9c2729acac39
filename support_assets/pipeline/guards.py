"""Guards around a run's load, each for a failure that dlt or DuckDB words badly.

Each names the setting to change, and leaves the warehouse as it was.
"""

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import dlt

from support_assets.settings import Settings, SettingsError, memory_bytes


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


@contextlib.contextmanager
def duckdb_file_guarded(
    settings: Settings, committed: Callable[[], bool] = lambda: False
) -> Iterator[None]:
    """Fail early on a DuckDB path that cannot be written; leave no file behind a failure.

    dlt reports an unwritable file as "check credentials ... internet connection may be
    down", and a run that fails before its first page (a wrong secret) would otherwise
    leave an empty warehouse file that looks like a load happened. A file holding a
    committed slice of a long load stays: the next attempt resumes from it.
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
        if path in created and not committed():  # this run made the file: put it back
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
