"""The dlt pipeline: destination, dataset and a working directory per run."""

import os
import re
from pathlib import Path

import dlt
from dlt.common.destination import Destination

from support_assets.settings import Settings


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
        return dlt.destinations.duckdb(credentials=str(path.absolute()))
    return Destination.from_reference(settings.destination)


def support_pipeline(settings: Settings, working_dir: str | os.PathLike[str]) -> dlt.Pipeline:
    """A pipeline whose local files live in `working_dir`, which belongs to one run.

    The incremental cursor is not kept there: dlt stores it with the data in the
    destination, and each run restores it from there.
    """
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
