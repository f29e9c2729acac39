"""A session of the pipeline benchmark: one sandbox, the contenders alternated on it.

Each repetition runs the contenders in order, each as a process tree of its own with
the sandbox's counters zeroed, and checks that every load left exactly the sandbox's
records: speed that loses or duplicates records is no result.
"""

import contextlib
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import dagster_cli
from benchmarks.measure import run_measured
from benchmarks.workload import COLLECTIONS, DATASET, Scale
from support_assets.sandbox import SandboxServer
from support_assets.sandbox.client import SandboxError

ROOT = Path(__file__).resolve().parent.parent
# The CLI contenders' warehouse (`.duckdb`) and dlt dir (`_dlt`) in a repetition's directory.
WAREHOUSE = "support_assets"
# In the order each repetition runs them: all after 3 continue its warehouse.
CONTENDERS = (
    "floor",
    "bare_dlt",
    "full_load",
    "incremental_unchanged",
    "bare_refresh",
    "incremental_1pct",
)


@dataclass
class Run:
    """One contender's result in one repetition."""

    ok: bool
    wall_s: float = 0.0
    work_s: float | None = None
    records: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] | None = None
    get_requests: int = 0
    token_requests: int = 0
    requests_by_route: dict[str, dict[str, int]] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    hwm_sum_mb: float = 0.0
    process_peaks: list[dict[str, Any]] = field(default_factory=list)
    cpu_s: float = 0.0
    other_cpu_s: float = 0.0
    error: str | None = None

    @property
    def records_per_s(self) -> float:
        """Records the sandbox served per wall second."""
        return sum(self.records.values()) / self.wall_s if self.wall_s > 0 else 0.0


def contender_env(
    sandbox: SandboxServer, duckdb_path: Path, dlt_dir: Path, dagster_home: Path
) -> dict[str, str]:
    """The environment a contender sees: ours, minus any SUPPORT_* or Dagster settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SUPPORT_", "DESTINATION__", "DAGSTER_", "DLT_"))
    }
    env.update(
        SUPPORT_API_BASE_URL=sandbox.url,
        # The sandbox's default credentials, as the server we started knows them.
        SUPPORT_API_CLIENT_ID=sandbox.config["client_id"],
        SUPPORT_API_CLIENT_SECRET=sandbox.config["client_secret"],
        SUPPORT_DUCKDB_PATH=str(duckdb_path),
        SUPPORT_DLT_DIR=str(dlt_dir),
        DAGSTER_HOME=str(dagster_home),
        # dlt's own home (configs, telemetry id) in the session's tmp dir, not in ~/.dlt.
        DLT_DATA_DIR=str(dagster_home.parent / "dlt_home"),
        # No internet here: an anonymous-telemetry thread would only add noise.
        RUNTIME__DLTHUB_TELEMETRY="false",
    )
    return env


def count_rows(duckdb_path: Path) -> dict[str, int] | None:
    """Rows per table in the contender's warehouse; None when nothing was created."""
    import duckdb

    if not duckdb_path.exists():
        return None
    rows: dict[str, int] = {}
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        for resource, (_, _, table) in COLLECTIONS.items():
            try:
                result = con.execute(f"select count(*) from {DATASET}.{table}").fetchone()
            except duckdb.CatalogException:
                continue
            rows[resource] = int(result[0]) if result else 0
    return rows


def http_counts(stats: Mapping[str, Any]) -> tuple[int, int, dict[str, dict[str, int]]]:
    """Data-page and token requests (any status), and the full table by route and status."""
    by_route: dict[str, dict[str, int]] = stats["requests"]
    pages = sum(sum(s.values()) for route, s in by_route.items() if route.startswith("GET /v1/"))
    tokens = sum(by_route.get("POST /oauth/token", {}).values())
    return pages, tokens, by_route


def update_share(sandbox: SandboxServer, resource: str, size: int) -> int:
    """Update 1% of a collection (at least one record), or as many as the sandbox allows."""
    wanted = max(1, size // 100)
    try:
        return len(sandbox.update(resource, wanted))
    except SandboxError as exc:
        allowed = re.search(r"only (\d+) ", str(exc))
        if allowed is None:
            raise
        print(f"  sandbox caps updates of {resource} at {allowed[1]} (asked {wanted})")
        return len(sandbox.update(resource, int(allowed[1])))


def _tail(log: Path, chars: int = 2500) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else ""


class Session:
    """The sandbox and the working directories shared by every contender of a session."""

    def __init__(
        self, sandbox: SandboxServer, workdir: Path, timeout: float, rss_limit_mb: float
    ) -> None:
        self.sandbox = sandbox
        self.workdir = workdir
        self.timeout = timeout
        self.rss_limit_mb = rss_limit_mb
        self.updated: dict[str, int] = {}  # what the last repetition's 1% update touched
        health = sandbox.health()
        self.expected_rows = {resource: health[resource] for resource in COLLECTIONS}

    def measure(
        self,
        name: str,
        command: list[str],
        env: Mapping[str, str],
        rep_dir: Path,
        duckdb_path: Path | None,
    ) -> Run:
        """Run one contender with zeroed sandbox counters; collect what it cost."""
        log = rep_dir / f"{name}.log"
        self.sandbox.reset_stats()
        measured = run_measured(
            command, env, rep_dir, log, self.timeout, self.rss_limit_mb, self.sandbox.pid
        )
        stats = self.sandbox.stats()
        pages, tokens, by_route = http_counts(stats)
        run = Run(
            ok=measured.returncode == 0,
            wall_s=measured.wall_s,
            records=dict(stats["records_served"]),
            get_requests=pages,
            token_requests=tokens,
            requests_by_route=by_route,
            peak_rss_mb=measured.peak_rss_mb,
            hwm_sum_mb=measured.hwm_sum_mb,
            process_peaks=measured.process_peaks,
            cpu_s=measured.cpu_s,
            other_cpu_s=measured.other_cpu_s,
        )
        if measured.killed:
            run.ok = False
            run.error = measured.killed
        elif not run.ok:
            run.error = f"exit status {measured.returncode}; output ends:\n{_tail(log)}"
        if duckdb_path is not None:
            with contextlib.suppress(Exception):  # a failed load may leave no usable file
                run.rows = count_rows(duckdb_path)
            # Speed that loses or duplicates records is no result: every load, full or
            # incremental, must leave exactly the sandbox's records (updates add none).
            if run.ok and run.rows != self.expected_rows:
                run.ok = False
                run.error = f"the warehouse holds {run.rows}, the sandbox {self.expected_rows}"
        return run

    def child(self, name: str, rep_dir: Path, warehouse: str | None = None) -> Run:
        """A contender of our own module, `python -m`, in a process of its own.

        `warehouse` names the file and dlt dir to continue (the CLI's); by default a fresh
        pair named after the contender.
        """
        duckdb_path = rep_dir / f"{warehouse or name}.duckdb"
        dlt_dir = rep_dir / f"{warehouse or name}_dlt"
        env = contender_env(self.sandbox, duckdb_path, dlt_dir, rep_dir / "home")
        env["SUPPORT_API_TOKEN_URL"] = self.sandbox.token_url
        # It runs in the repetition's directory, away from the project's files: the package
        # is found through the path instead.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        result = rep_dir / f"{name}.json"
        command = [sys.executable, "-m", f"benchmarks.{name}", "--result", str(result)]
        run = self.measure(name, command, env, rep_dir, duckdb_path if name != "floor" else None)
        if run.ok:
            reported = json.loads(result.read_text())
            run.work_s = reported["work_s"]
            # One process: its own VmHWM at the end is exact, where a sample may miss the top.
            run.peak_rss_mb = max(run.peak_rss_mb, reported["peak_rss_mb"])
            run.hwm_sum_mb = max(run.hwm_sum_mb, reported["peak_rss_mb"])
            for process in run.process_peaks[:1]:
                process["hwm_mb"] = max(process["hwm_mb"], round(reported["peak_rss_mb"], 1))
        return run

    def dagster(self, name: str, rep_dir: Path, extra_env: Mapping[str, str] | None = None) -> Run:
        """The real CLI, on the repetition's one warehouse file (`WAREHOUSE`)."""
        duckdb_path = rep_dir / f"{WAREHOUSE}.duckdb"
        home = rep_dir / "home"
        env = contender_env(self.sandbox, duckdb_path, rep_dir / f"{WAREHOUSE}_dlt", home)
        env.update(extra_env or {})
        launched = time.time()  # the clock the instance stamps its events with
        run = self.measure(name, dagster_cli.materialize_command(), env, rep_dir, duckdb_path)
        if run.ok:
            run.work_s = dagster_cli.work_s(home, since=launched)
        return run

    def prepare(self, name: str) -> Path:
        """A fresh directory for a pass, with the Dagster home its CLI contenders share."""
        rep_dir = self.workdir / name
        (rep_dir / "home").mkdir(parents=True)
        # The instance settings the project ships (telemetry off, no upload attempts).
        shutil.copy(ROOT / "dagster.yaml", rep_dir / "home" / "dagster.yaml")
        return rep_dir

    def repetition(self, index: int, scale: Scale) -> Iterator[tuple[str, Run]]:
        """One pass over the contenders, in order (those after 3 continue its warehouse)."""
        rep_dir = self.prepare(f"rep{index + 1}")
        yield "floor", self.child("floor", rep_dir)
        yield "bare_dlt", self.child("bare_dlt", rep_dir)
        full = self.dagster("full_load", rep_dir)
        yield "full_load", full
        if not full.ok:
            skipped = Run(ok=False, error="skipped: the full load it continues failed")
            for name in CONTENDERS[CONTENDERS.index("full_load") + 1 :]:
                yield name, skipped
            return
        yield "incremental_unchanged", self.dagster("incremental_unchanged", rep_dir)
        yield "bare_refresh", self.child("bare_refresh", rep_dir, warehouse=WAREHOUSE)
        updated = {
            "tickets": update_share(self.sandbox, "tickets", scale.tickets),
            "comments": update_share(self.sandbox, "comments", scale.comments),
        }
        self.updated = updated
        yield "incremental_1pct", self.dagster("incremental_1pct", rep_dir)
