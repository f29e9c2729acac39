"""Where dlt keeps its files: the definitions' pipeline and each run's working folder."""

import dataclasses
import logging
from pathlib import Path

from support_assets.definitions import build_definitions
from support_assets.pipeline import definition_working_dir
from support_assets.settings import Settings


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
