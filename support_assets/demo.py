"""`make demo` and `make dev`: the sandbox API, then the real `dagster` CLI against it.

Run as `python -m support_assets.demo [--ui] [--vendor generic|zendesk|freshdesk|helpscout]`.
The demo is what a new user sees first, so it goes through the same commands they would
type, not through Python shortcuts. With `--vendor` the sandbox emulates that desk and the
code location runs its preset (`SUPPORT_VENDOR`) with the desk's own kind of credentials.
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
from dlt.common.normalizers.naming.snake_case import NamingConvention

from support_assets.sandbox import SandboxServer
from support_assets.sandbox.vendors import GENERIC, VENDORS
from support_assets.settings import Settings
from support_assets.source.contract import COMMENTS_RESOURCE, TICKETS_RESOURCE

DEMO_CLIENT_ID = "sandbox-client"
DEMO_CLIENT_SECRET = "sandbox-secret"  # the sandbox's published default, not a real secret
# Zendesk's export leaves out the last minute of changes, and its preset's window ends that
# far back: the emulator's data ends this many seconds before now, so all of it loads.
DATA_AGE_S = {"zendesk": 3600}


def desk_credentials(vendor: str, client_id: str, client_secret: str) -> dict[str, str]:
    """The settings holding the sandbox's credentials as each desk names them.

    The sandbox is started with one client id and secret; each emulator reads them as its
    desk's own credentials: the OAuth client (reference contract, Help Scout), the API key
    sent as the Basic username with any password (Freshdesk), or an agent's email and API
    token as `{email}/token:{token}` (Zendesk).
    """
    if vendor == "freshdesk":
        return {"SUPPORT_API_USERNAME": client_secret, "SUPPORT_API_PASSWORD": "X"}
    if vendor == "zendesk":
        return {"SUPPORT_API_USERNAME": f"{client_id}/token", "SUPPORT_API_PASSWORD": client_secret}
    return {"SUPPORT_API_CLIENT_ID": client_id, "SUPPORT_API_CLIENT_SECRET": client_secret}


def data_anchor(vendor: str, now: dt.datetime | None = None) -> str | None:
    """The newest timestamp of the desk's emulated data; None: now (the sandbox's default)."""
    age = DATA_AGE_S.get(vendor)
    if age is None:
        return None
    now = now or dt.datetime.now(dt.UTC)
    return (now - dt.timedelta(seconds=age)).strftime("%Y-%m-%dT%H:%M:%SZ")


def demo_sandbox(vendor: str = GENERIC, tickets: int = 1000, comments: int = 5000) -> SandboxServer:
    """The sandbox the demo starts (not yet running): the desk's emulator, the demo's keys."""
    return SandboxServer(
        tickets=tickets,
        comments=comments,
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        vendor=vendor,
        anchor=data_anchor(vendor),
    )


def demo_env(base_url: str, vendor: str = GENERIC) -> dict[str, str]:
    """The environment a user would put in `.env`, pointed at the sandbox."""
    home = Path("data/dagster_home").absolute()
    home.mkdir(parents=True, exist_ok=True)
    # The shipped instance settings: queued runs, pool "support_api" limited to 1.
    shutil.copy(Path("dagster.yaml"), home / "dagster.yaml")
    env = {
        **os.environ,
        "SUPPORT_VENDOR": vendor,
        "SUPPORT_API_BASE_URL": base_url,
        **desk_credentials(vendor, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        "DAGSTER_HOME": str(home),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    if vendor != GENERIC:
        # A warehouse of each desk's own: another desk's tables have other columns, and
        # its stored cursors would start this desk's first load in the middle.
        env.setdefault("SUPPORT_DUCKDB_PATH", f"data/warehouse_{vendor}.duckdb")
    return env


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


# The columns shown per table, those of them a desk fills, between its key and its cursor.
SHOWN = {
    TICKETS_RESOURCE: ("status", "priority", "subject"),
    COMMENTS_RESOURCE: ("public", "private", "type", "body"),
}


def print_summary(settings: Settings) -> None:
    """Per-table counts and a few rows, straight from the DuckDB file."""
    path = Path(settings.duckdb_path)
    dataset = settings.dataset
    print(f"\nLoaded into {path} (dataset {dataset}):")
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = ? "
            "and table_name not like '\\_dlt%' escape '\\' order by table_name",
            [dataset],
        ).fetchall()
        for (table,) in tables:
            row = con.execute(f'select count(*) from {dataset}."{table}"').fetchone()
            count = row[0] if row else 0
            print(f"  {table:<32} {count:>8} rows")
        naming = NamingConvention()
        api = settings.api
        for table, shown in SHOWN.items():
            key = naming.normalize_identifier(api.primary_key)
            cursor = naming.normalize_identifier(api.cursor_of(table))
            parent = [naming.normalize_identifier(api.ticket_key)]
            wanted = [key, *(parent if table == COMMENTS_RESOURCE else []), *shown, cursor]
            columns = _filled(con, dataset, table, wanted)
            if not columns:
                continue
            listed = ", ".join(f'left("{c}"::varchar, 40)' for c in columns)
            order = f'"{cursor}" desc, ' if cursor in columns else ""
            print(f"\n  {table}, newest 3 ({', '.join(columns)}):")
            rows = con.execute(
                f'select {listed} from {dataset}."{table}" order by {order}"{key}" desc limit 3'
            ).fetchall()
            for row in rows:
                print("   ", " | ".join(str(v).replace("\n", " ") for v in row))


def _filled(
    con: duckdb.DuckDBPyConnection, dataset: str, table: str, wanted: list[str]
) -> list[str]:
    """The wanted columns that the table has and that hold a value.

    A declared contract column a desk never sends (Freshdesk's `public`) is all null.
    """
    have = {
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [dataset, table],
        ).fetchall()
    }
    return [
        c
        for c in dict.fromkeys(wanted)
        if c in have
        and con.execute(f'select count("{c}") from {dataset}."{table}"').fetchone() != (0,)
    ]


def run(sandbox: SandboxServer, vendor: str = GENERIC, ui: bool = False) -> int:
    """Against a running sandbox: materialize everything (or open the UI); the exit status."""
    label = "" if vendor == GENERIC else f" (emulating {vendor})"
    print(f"Support API sandbox{label} on {sandbox.url}", flush=True)
    env = demo_env(sandbox.url, vendor)
    init_instance(env)
    if ui:
        command = [_dagster(), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1"]
        try:
            return subprocess.call(command, env=env)
        except KeyboardInterrupt:
            return 0
    today = dt.datetime.now(dt.UTC).date().isoformat()  # the incremental refresh
    command = [_dagster(), "asset", "materialize", "--select", "*", "--partition", today]
    command += ["-m", "support_assets.definitions"]
    print(f"$ SUPPORT_VENDOR={vendor} dagster", " ".join(command[1:]), flush=True)
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        print(completed.stdout[-4000:], completed.stderr[-4000:], file=sys.stderr)
        return completed.returncode
    print_summary(Settings.from_env(env))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Start the sandbox, then materialize everything (or open the UI with `--ui`)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ui", action="store_true", help="run `dagster dev` instead")
    parser.add_argument(
        "--vendor",
        choices=[GENERIC, *VENDORS],
        default=GENERIC,
        help="emulate this desk and run its preset (SUPPORT_VENDOR)",
    )
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--comments", type=int, default=5000)
    args = parser.parse_args(argv)

    with demo_sandbox(args.vendor, args.tickets, args.comments) as sandbox:
        return run(sandbox, args.vendor, args.ui)


if __name__ == "__main__":
    raise SystemExit(main())
