"""Where dlt keeps its files: the definitions' pipeline and each run's working folder."""

import dataclasses
import logging
import os
import time
from pathlib import Path

from support_assets.definitions import build_definitions
from support_assets.pipeline import definition_working_dir
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import materialize


class Collect(logging.Handler):
    """dlt's logger does not propagate to the root, where pytest's caplog listens."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_definitions_for_duckdb_then_postgres_share_no_pipeline_state(settings: Settings) -> None:
    postgres = dataclasses.replace(settings, destination="postgres")
    other_project = dataclasses.replace(settings, dlt_dir=str(Path(settings.dlt_dir) / "other"))
    dlt_log = logging.getLogger("dlt")
    collect = Collect()
    dlt_log.addHandler(collect)
    try:
        build_definitions(settings)
        build_definitions(postgres)
        build_definitions(settings)
    finally:
        dlt_log.removeHandler(collect)

    assert [m for m in collect.messages if "differs from destination" in m] == []
    places = {definition_working_dir(s) for s in (settings, postgres, other_project)}
    assert len(places) == 3
    assert definition_working_dir(settings).is_relative_to(Path(settings.dlt_dir).absolute())
    assert sorted(p.name for p in (Path(settings.dlt_dir) / "definitions").iterdir()) == [
        "duckdb",
        "postgres",
    ]


def test_a_run_deletes_run_folders_older_than_the_limit_and_keeps_younger_ones(
    api_env: SandboxServer, settings: Settings
) -> None:
    runs = Path(settings.dlt_dir) / "runs"
    now = time.time()
    ages_h = {"killed-4-days-ago": 96, "failed-73-hours-ago": 73, "failed-2-hours-ago": 2}
    for name, hours in ages_h.items():
        folder = runs / name / "support_desk" / "load" / "normalized"
        folder.mkdir(parents=True)
        (folder / "records.parquet").write_bytes(b"customer records")
        os.utime(runs / name, (now - hours * 3600, now - hours * 3600))

    result = materialize(settings)

    assert result.success
    assert sorted(p.name for p in runs.iterdir()) == ["failed-2-hours-ago"]
    shorter = dataclasses.replace(settings, run_files_max_age_hours=1)
    assert materialize(shorter).success
    assert list(runs.iterdir()) == []
