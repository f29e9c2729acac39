"""One run's load: the pipeline in its own working directory, with every guard around it."""

import contextlib
import datetime as dt
import logging
import shutil
import sys
from typing import Any

from support_assets.pipeline import remove_old_run_dirs, run_working_dir, support_pipeline
from support_assets.pipeline.guards import (
    destination_lock_explained,
    duckdb_file_guarded,
    fit_memory_limit,
    out_of_memory_explained,
)
from support_assets.pipeline.warehouse import stored_cursors
from support_assets.settings import Settings
from support_assets.source.telemetry import Telemetry


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
        # Whether a slice of this run's load is committed (see `slices`): then a failure
        # keeps the warehouse file this run created.
        self.committed = False
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
            guards.enter_context(duckdb_file_guarded(self.settings, lambda: self.committed))
            guards.enter_context(destination_lock_explained(self.settings, self._retry_number))
            guards.enter_context(
                out_of_memory_explained(self.settings, self._telemetry.describe_largest_record)
            )
            # The cursors as the destination holds them before this run (dlt restores them
            # the same way when the run starts), for the "before" half of the metadata.
            self.pipeline.sync_destination()
            self.cursors_before = stored_cursors(self.pipeline, self.settings.api)
        except BaseException:
            if not self._guards.__exit__(*sys.exc_info()):
                raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._guards.__exit__(*exc_info)  # the guards translate errors, never swallow them
        if exc_info[0] is None and not self.settings.keep_run_files:
            shutil.rmtree(self.working_dir, ignore_errors=True)
