"""The dlt pipeline: destination, dataset, and a working directory per run.

Its guards, its warehouse queries and one run's load are the modules beside this one.
"""

import contextlib
import functools
import os
import re
import shutil
import time
from pathlib import Path

import dlt
from dlt.common.destination import Destination
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from support_assets.settings import Settings
from support_assets.source.workarounds import add_dlt_columns_to_arrow_pages


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


def loader_file_format(settings: Settings) -> str | None:
    """Parquet into DuckDB (a bulk read of the pages' own files); dlt's choice elsewhere."""
    return "parquet" if settings.destination == "duckdb" else None


def support_pipeline(settings: Settings, working_dir: str | os.PathLike[str]) -> dlt.Pipeline:
    """A pipeline whose local files live in `working_dir`, which belongs to one run.

    The incremental cursor is not kept there: dlt stores it with the data in the
    destination, and each run restores it from there.
    """
    add_dlt_columns_to_arrow_pages()
    pipeline = dlt.pipeline(
        pipeline_name=settings.pipeline_name,
        pipelines_dir=str(working_dir),
        destination=destination_of(settings),
        dataset_name=settings.dataset,
    )
    return with_extract_workers(pipeline, settings.max_concurrency)


def with_extract_workers(pipeline: dlt.Pipeline, workers: int) -> dlt.Pipeline:
    """`pipeline`, its extract pool sized `workers` (`SUPPORT_MAX_CONCURRENCY`).

    dlt reads the pool's size from its config (`extract.workers`, 5 by default), which is
    the process's: set there, one run's setting would leak into every other pipeline of
    the process. `Pipeline.run` takes no `workers`, but calls `self.extract`, which does:
    this pipeline object, which belongs to one run, passes it on. The pool runs both
    resources at once and the per-ticket children; the requests of all of them together
    are bounded by the session (see `source/concurrency.py`).
    """
    pipeline.extract = functools.partial(pipeline.extract, workers=workers)  # type: ignore[method-assign]
    return pipeline


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
