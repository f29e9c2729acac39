"""Shared fixtures: one sandbox API per session (reset per test), a DuckDB file per test."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets.source.budget import forget_budgets
from support_assets.source.contract import RetryPolicy
from support_assets_tests.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    COMMENTS,
    POSTGRES,
    SEED,
    TICKETS,
    import_psycopg2,
    require_service,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests (real daemons, webservers, schedules) run first.

    They mostly wait on Dagster's clocks (a schedule's minute, a sensor's interval, a slow
    sandbox). Under `-n 2 --dist worksteal` the first worker starts with them while the
    second runs quick tests, and takes over the first's queue once its own is done; started
    last, they would leave one worker idle at the end. (Not an xdist_group: pytest-xdist
    3.8's loadgroup cannot rename pytest 9.2's node ids, so it groups nothing.)
    """
    slow = [item for item in items if item.get_closest_marker("slow")]
    items[:] = slow + [item for item in items if not item.get_closest_marker("slow")]


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer(
        tickets=TICKETS,
        comments=COMMENTS,
        seed=SEED,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    ) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The session's sandbox with fresh data, no faults, no tokens and zeroed stats."""
    sandbox_server.reset()
    return sandbox_server


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own working dir, dlt home and no inherited SUPPORT_* settings."""
    for name in list(os.environ):
        if name.startswith(("SUPPORT_", "SOURCES__", "DESTINATION__", "DAGSTER_HOME")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt_home"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(autouse=True)
def fresh_rate_budgets() -> None:
    """No desk budget outlives its test: every test's runs point at the one sandbox, and a
    429's pause or a learned pace would otherwise carry into the next test."""
    forget_budgets()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a test run: fast backoff (Retry-After still honoured), files in tmp."""
    return Settings(
        retry=RetryPolicy(backoff_factor=0.01, max_wait=30.0, request_timeout=30.0),
        duckdb_path=str(tmp_path / "warehouse.duckdb"),
        dlt_dir=str(tmp_path / "dlt"),
        # A failing run fails at once; the load retries have their own test.
        load_retries=0,
        # One dlt run per load, as the exact page counts of most tests assume: the sliced
        # loads (each slice a dlt run of its own) have their own tests.
        commit_records=0,
    )


@pytest.fixture
def api_env(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """Point the code location's credentials at the sandbox."""
    monkeypatch.setenv("SUPPORT_API_BASE_URL", sandbox.url)
    monkeypatch.setenv("SUPPORT_API_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SUPPORT_API_CLIENT_SECRET", CLIENT_SECRET)
    return sandbox


@pytest.fixture
def scratch_database() -> Iterator[str]:
    """A PostgreSQL database of the test's own (its DSN), dropped afterwards."""
    psycopg2 = import_psycopg2()
    name = f"support_assets_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(f"{POSTGRES}/test", connect_timeout=3)
    except psycopg2.OperationalError as exc:
        require_service("PostgreSQL at 127.0.0.1:5432", str(exc).strip())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'create database "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        admin.close()
