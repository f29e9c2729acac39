"""`make demo` and `make dev`: the sandbox API, then the real `dagster` CLI against it.

Run as `python -m support_assets.demo [--ui]`. The demo is what a new user sees first, so it
goes through the same commands they would type, not through Python shortcuts.
"""

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import duckdb

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings

DEMO_CLIENT_ID = "sandbox-client"
DEMO_CLIENT_SECRET = "sandbox-secret"  # the sandbox's published default, not a real secret


def demo_env(base_url: str) -> dict[str, str]:
    """The environment a user would put in `.env`, pointed at the sandbox."""
    home = Path("data/dagster_home").absolute()
    home.mkdir(parents=True, exist_ok=True)
    # The shipped instance settings: queued runs, pool "support_api" limited to 1.
    shutil.copy(Path("dagster.yaml"), home / "dagster.yaml")
    return {
        **os.environ,
        "SUPPORT_API_BASE_URL": base_url,
        "SUPPORT_API_CLIENT_ID": DEMO_CLIENT_ID,
        "SUPPORT_API_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "DAGSTER_HOME": str(home),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }


def init_instance(env: Mapping[str, str]) -> None:
    """Create the instance's storage before any process races to create it.

    Two processes opening a fresh SQLite `DAGSTER_HOME` at once (the first run and the
    daemon, or two runs) can both stamp its schema and leave it unusable ("more than one
    head present", dagster-io/dagster#27390). `dagster instance migrate` is the user's
    own command for it, and a no-op on an instance that is up to date.
    """
    command = [_dagster(), "instance", "migrate"]
    print("$ dagster", " ".join(command[1:]), flush=True)
    completed = subprocess.run(command, env=dict(env), capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(
            f"`dagster instance migrate` failed for DAGSTER_HOME={env.get('DAGSTER_HOME')}:\n"
            f"{completed.stderr[-4000:]}"
        )


def _dagster() -> str:
    local = Path(sys.executable).parent / "dagster"
    return str(local) if local.exists() else (shutil.which("dagster") or "dagster")


def print_summary(settings: Settings) -> None:
    """Per-table counts and a few rows, straight from the DuckDB file."""
    path = Path(settings.duckdb_path)
    print(f"\nLoaded into {path} (dataset {settings.dataset}):")
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = ? "
            "and table_name not like '\\_dlt%' escape '\\' order by table_name",
            [settings.dataset],
        ).fetchall()
        for (table,) in tables:
            row = con.execute(f'select count(*) from {settings.dataset}."{table}"').fetchone()
            count = row[0] if row else 0
            print(f"  {table:<32} {count:>8} rows")
        for table, columns in (
            ("support_tickets", "id, status, priority, left(subject, 40) as subject, updated_at"),
            ("ticket_comments", "id, ticket_id, public, left(body, 40) as body, updated_at"),
        ):
            print(f"\n  {table}, newest 3:")
            rows = con.execute(
                f"select {columns} from {settings.dataset}.{table} order by updated_at desc, "
                "id desc limit 3"
            ).fetchall()
            for row in rows:
                print("   ", " | ".join(str(v).replace("\n", " ") for v in row))


def main(argv: list[str] | None = None) -> int:
    """Start the sandbox, then materialize everything (or open the UI with `--ui`)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ui", action="store_true", help="run `dagster dev` instead")
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--comments", type=int, default=5000)
    args = parser.parse_args(argv)

    with SandboxServer(
        tickets=args.tickets,
        comments=args.comments,
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
    ) as sandbox:
        print(f"Support API sandbox on {sandbox.url}", flush=True)
        env = demo_env(sandbox.url)
        init_instance(env)
        if args.ui:
            command = [_dagster(), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1"]
            try:
                return subprocess.call(command, env=env)
            except KeyboardInterrupt:
                return 0
        today = dt.datetime.now(dt.UTC).date().isoformat()  # the incremental refresh
        command = [_dagster(), "asset", "materialize", "--select", "*", "--partition", today]
        command += ["-m", "support_assets.definitions"]
        print("$ dagster", " ".join(command[1:]), flush=True)
        completed = subprocess.run(command, env=env, capture_output=True, text=True)
        if completed.returncode != 0:
            print(completed.stdout[-4000:], completed.stderr[-4000:], file=sys.stderr)
            return completed.returncode
        print_summary(Settings.from_env(env))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
