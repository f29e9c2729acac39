"""`make demo` and `make dev`: the Dagster instance prepared first, and each desk's preset."""

import dataclasses
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from support_assets.demo import demo_sandbox, init_instance, run
from support_assets.settings import Settings
from support_assets_tests.helpers import venv_bin, warehouse_rows

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


def test_the_demo_loads_a_desks_emulator_through_its_preset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `make demo VENDOR=freshdesk`: the emulator, the preset, the desk's own credentials
    # (the API key as the Basic username) and the real CLI, from the project's files.
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    with demo_sandbox("freshdesk", tickets=40, comments=120) as sandbox:
        status = run(sandbox, "freshdesk")
        tickets = [t["id"] for t in sandbox.truth("tickets") if not t.get("deleted")]
        comments = [c for c in sandbox.truth("comments") if c["ticket_id"] in tickets]

    assert status == 0, capsys.readouterr().err[-4000:]
    settings = Settings.from_env({"SUPPORT_VENDOR": "freshdesk"})
    settings = dataclasses.replace(settings, duckdb_path="data/warehouse_freshdesk.duckdb")
    assert warehouse_rows(
        settings,
        "select (select count(*) from support.support_tickets), "
        "(select count(*) from support.ticket_comments)",
    ) == [(len(tickets), len(comments))]
    printed = capsys.readouterr().out
    assert re.search(rf"support_tickets +{len(tickets)} rows", printed), printed
    assert re.search(rf"ticket_comments +{len(comments)} rows", printed), printed
