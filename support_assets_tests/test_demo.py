"""`make demo` and `make dev` prepare the Dagster instance before anything runs in it."""

import shutil
import sqlite3
from pathlib import Path

from support_assets.demo import init_instance
from support_assets_tests.helpers import venv_bin

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_creates_the_instance_storage_before_any_run(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {"PATH": str(Path(venv_bin("dagster")).parent), "DAGSTER_HOME": str(home)}

    init_instance(env)

    # The databases every run, the daemon and the webserver open, each stamped with one
    # schema version: nothing left for two first runs to race over.
    databases = [
        home / "history" / "runs.db",
        home / "history" / "runs" / "index.db",
        home / "schedules" / "schedules.db",
    ]
    for database in databases:
        with sqlite3.connect(database) as con:
            heads = con.execute("select version_num from alembic_version").fetchall()
        assert len(heads) == 1, database
    init_instance(env)  # a second call (the next `make demo`) changes nothing
