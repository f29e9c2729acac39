"""Helpers the tests share: running the assets, reading the warehouse, the CLI."""

import contextlib
import dataclasses
import datetime as dt
import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import dagster as dg
import duckdb
import pytest
import yaml

from support_assets.definitions import build_definitions
from support_assets.jobs import FULL_REFRESH_CONFIG
from support_assets.settings import Settings

CLIENT_ID = "test-client"
# Looks like no real secret and is scanned for in everything a run leaves behind.
CLIENT_SECRET = "canary-7f3a9c1e5b2d4"
SEED = 7
# The machine's PostgreSQL; dlt insists on a password even where the server trusts us.
POSTGRES = "postgresql://postgres:postgres@127.0.0.1:5432"
TICKETS = 250
COMMENTS = 600


def today() -> str:
    """Today's partition key: the incremental refresh."""
    return dt.datetime.now(dt.UTC).date().isoformat()


def materialize(
    settings: Settings,
    *,
    partition_key: str | None = None,
    partition_range: tuple[str, str] | None = None,
    full_refresh: bool = False,
    selection: list[str] | None = None,
    with_checks: bool = False,
    raise_on_error: bool = False,
    **kwargs: Any,
) -> dg.ExecuteInProcessResult:
    """Materialize the assets through Dagster, as the UI's button does (today by default)."""
    defs = build_definitions(settings)
    tags = dict(kwargs.pop("tags", {}))
    if partition_range is not None:
        tags["dagster/asset_partition_range_start"] = partition_range[0]
        tags["dagster/asset_partition_range_end"] = partition_range[1]
    else:
        kwargs["partition_key"] = partition_key or today()
    if full_refresh:
        kwargs["run_config"] = FULL_REFRESH_CONFIG
    checks = list(defs.asset_checks or []) if with_checks else []
    return dg.materialize(
        [defs.get_assets_def("support_tickets"), *checks],
        resources=defs.resources,
        raise_on_error=raise_on_error,
        tags=tags,
        selection=selection,
        **kwargs,
    )


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The user-facing error of a failed run: the innermost cause's message."""
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error is not None and error.cause is not None:
                error = error.cause
            return error.message if error else ""
    return ""


def warehouse_rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    """Query the test's DuckDB file (read-only, so a later run can still write)."""
    if not Path(settings.duckdb_path).exists():
        return []
    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def table_exists(settings: Settings, table: str) -> bool:
    return bool(
        warehouse_rows(
            settings,
            "select 1 from information_schema.tables "
            f"where table_schema = '{settings.dataset}' and table_name = '{table}'",
        )
    )


def with_retry(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(settings, retry=dataclasses.replace(settings.retry, **changes))


def venv_bin(name: str) -> str:
    """A console script of the environment running the tests."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    assert found, f"{name} is not installed in the test environment"
    return found


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)


def require_service(name: str, reason: str) -> NoReturn:
    """Skip loudly on a laptop without the service; in CI a missing service is a failure."""
    message = f"{name} is not available: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI must run this test)")
    pytest.skip(f"SKIPPED LOUDLY: {message}")


def import_psycopg2() -> ModuleType:
    """The PostgreSQL driver; missing, it skips loudly on a laptop and fails in CI."""
    try:
        return importlib.import_module("psycopg2")
    except ImportError as exc:
        require_service(
            "psycopg2 (the PostgreSQL driver, `pip install -e '.[postgres]'`)", str(exc)
        )


def wait_for(what: str, probe: Callable[[], Any], seconds: float, log: Path) -> Any:
    """Poll `probe` until it returns something truthy; fail with the process's log if never."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}; {log.name}:\n{log.read_text()[-4000:]}")


def stop_processes(*processes: subprocess.Popen[Any], timeout: float = 60) -> None:
    """SIGTERM all at once (a clean shutdown each), then wait; kill whatever hangs."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def dagster_env(sandbox: Any, tmp_path: Path, **extra: str) -> dict[str, str]:
    """What a user's shell gives the dagster CLIs: only PATH, HOME and the settings."""
    return {
        "PATH": str(Path(venv_bin("dagster")).parent) + ":/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "SUPPORT_API_BASE_URL": sandbox.url,
        "SUPPORT_API_CLIENT_ID": CLIENT_ID,
        "SUPPORT_API_CLIENT_SECRET": CLIENT_SECRET,
        "SUPPORT_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "SUPPORT_DLT_DIR": str(tmp_path / "dlt"),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        **extra,
    }


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pages_for(records: int, size: int = 100) -> int:
    """Pages one unchanging window of `records` takes: each page after the first starts one
    record early (the paginator's overlap check), so it advances by `size - 1`."""
    return 1 + max(0, -(-(records - size) // (size - 1)))


ROOT = Path(__file__).resolve().parents[1]


# The daemon's loops in a test instance: the run queue looks every second (5 by default)
# and run monitoring every 2 (the shipped files say 30 and 60), so a test waits for what it
# proves, not for a production poll. Everything else is the shipped file's.
FAST_DAEMON = {
    "run_queue": {"dequeue_interval_seconds": 1},
    "run_monitoring": {"poll_interval_seconds": 2},
}


def instance_home(tmp_path: Path, source: Path | None = None) -> Path:
    """`tmp_path/dagster_home` holding `source` (the shipped dagster.yaml) with FAST_DAEMON."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    config = yaml.safe_load((source or ROOT / "dagster.yaml").read_text())
    for section, values in FAST_DAEMON.items():
        config[section] = {**config.get(section, {}), **values}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


@contextlib.contextmanager
def running_daemon(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real `dagster-daemon` on the project's workspace, its output in `log`, then stopped."""
    with log.open("w") as out:
        process = subprocess.Popen(
            [venv_bin("dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            stop_processes(process)


def launch_refresh(env: dict[str, str]) -> None:
    """`dagster job launch` of today's refresh, as the UI's launch button would queue it."""
    command = [venv_bin("dagster"), "job", "launch", "-w", str(ROOT / "workspace.yaml")]
    command += ["-j", "support_refresh_job", "--tags", json.dumps({"dagster/partition": today()})]
    result = run_cli(command, env, ROOT)
    assert result.returncode == 0, result.stderr[-3000:]


HOLD_LOCK = (
    "import duckdb, sys\n"
    "con = duckdb.connect(sys.argv[1])\n"
    "print('locked', flush=True)\n"
    "sys.stdin.readline()\n"
)


@contextlib.contextmanager
def holding_duckdb_lock(path: str) -> Iterator[None]:
    """Another process holds the DuckDB file's write lock until the block ends."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    locker = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        yield
    finally:
        assert locker.stdin is not None
        locker.stdin.write("\n")
        locker.stdin.close()
        locker.wait(timeout=30)


def point_at_desk(
    server: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, Settings]:
    """The desk's emulator with fresh data, and the settings of its preset pointing at it."""
    from support_assets.demo import desk_credentials
    from support_assets.source.vendors import preset

    vendor = server.config["vendor"]
    server.reset()
    monkeypatch.setenv("SUPPORT_API_BASE_URL", server.url)
    for name, value in desk_credentials(vendor, CLIENT_ID, CLIENT_SECRET).items():
        monkeypatch.setenv(name, value)
    return server, dataclasses.replace(settings, vendor=vendor, api=preset(vendor))


@contextlib.contextmanager
def desk_emulator(vendor: str, tickets: int, comments: int, seed: int) -> Iterator[Any]:
    """A desk's emulator with the demo's credentials and data age, for a module's tests."""
    from support_assets.demo import data_anchor
    from support_assets.sandbox import SandboxServer

    with SandboxServer(
        tickets=tickets,
        comments=comments,
        seed=seed,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        vendor=vendor,
        anchor=data_anchor(vendor),
    ) as server:
        yield server
