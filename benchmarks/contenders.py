"""Contenders (b) to (d): a full load through the real CLI against a sandbox with a fault.

Each starts from regenerated data at its scale (`limits.BUDGET_SCALES` for (c), the
session's for the others) with its fault profiles set, into a warehouse and Dagster
instance of its own, with `SUPPORT_MAX_CONCURRENCY=8`. Like every contender of the
session it must leave exactly the sandbox's records. A sandbox that refuses a profile (one
from before `latency` or `rate_budget`) skips that contender with the sandbox's words, and
the others still run.
"""

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks import limits
from benchmarks.session import Run, Session
from benchmarks.workload import SCALES
from support_assets.sandbox import SandboxServer
from support_assets.sandbox.client import SandboxError

FAULTED = ("b", "c", "d")
# A contender this far past its limit has missed its target by far: kill it rather than
# let a sequential reader spend 10 minutes on (b) (at large, (b) and (d) stop at 6.75
# minutes). The allowance covers the CLI's start-up and the checks on a busy machine,
# where even a tiny load can take a minute.
TIMEOUT_PER_LIMIT = 3
TIMEOUT_ALLOWANCE_S = 180


@dataclasses.dataclass
class Outcome:
    """One faulted contender: its limit, and its run or why it has none."""

    key: str
    formula: str
    limit_s: float
    faults: tuple[dict[str, Any], ...]
    tickets: int
    comments: int
    run: Run | None = None
    skipped: str = ""


def scale_of(key: str, scale: str) -> tuple[int, int]:
    """(tickets, comments) a contender reads at a session scale."""
    if key == "c":
        return limits.BUDGET_SCALES[scale]
    return SCALES[scale].tickets, SCALES[scale].comments


def run_faulted(
    sandbox: SandboxServer,
    workdir: Path,
    keys: list[str],
    scale: str,
    timeout: float,
    rss_limit_mb: float,
    use_stand_in: bool = False,
) -> Iterator[Outcome]:
    """Run each of `keys` among (b), (c), (d) once, in that order, on the one sandbox."""
    for key in (k for k in FAULTED if k in keys):
        tickets, comments = scale_of(key, scale)
        formula, limit_s = limits.limit_of(key, limits.pages(tickets, comments))
        faults = limits.FAULTS[key]
        if use_stand_in:
            faults = limits.stand_in(faults)
        outcome = Outcome(key, formula, limit_s, faults, tickets, comments)
        try:
            sandbox.reset(tickets=tickets, comments=comments, faults=list(faults))
        except SandboxError as exc:
            names = ", ".join(spec["name"] for spec in faults)
            outcome.skipped = f"skipped: the sandbox refused the profiles ({names}): {exc}"
            yield outcome
            continue
        budget = min(timeout, TIMEOUT_PER_LIMIT * limit_s + TIMEOUT_ALLOWANCE_S)
        session = Session(sandbox, workdir, budget, rss_limit_mb)
        rep_dir = session.prepare(f"contender_{key}")
        outcome.run = session.dagster(
            f"contender_{key}",
            rep_dir,
            extra_env={"SUPPORT_MAX_CONCURRENCY": str(limits.CONCURRENCY)},
        )
        yield outcome


def rows_of(
    session_medians: dict[str, dict[str, Any]] | None,
    session_runs: dict[str, list[Run]] | None,
    outcomes: list[Outcome],
) -> dict[str, dict[str, Any]]:
    """The limits table's rows: (a) and idle from the session's medians, then (b) to (d)."""
    rows: dict[str, dict[str, Any]] = {}
    if session_medians and session_runs:
        floor = session_medians["floor"]["wall_s"]
        rows["a"] = limits.row(
            "a", "floor's wall", floor, _median_run(session_medians, session_runs, "full_load")
        )
        bare = session_medians["bare_refresh"]["wall_s"]
        rows["idle"] = limits.row(
            "idle",
            "bare process's wall",
            bare,
            _median_run(session_medians, session_runs, "incremental_unchanged"),
        )
    for outcome in outcomes:
        run = dataclasses.asdict(outcome.run) if outcome.run else None
        rows[outcome.key] = {
            **limits.row(outcome.key, outcome.formula, outcome.limit_s, run, outcome.skipped),
            "tickets": outcome.tickets,
            "comments": outcome.comments,
            "faults": list(outcome.faults),
        }
        if outcome.key == "c":
            page_count = limits.pages(outcome.tickets, outcome.comments)
            rows["c"]["window_bound_s"] = limits.window_bound(page_count)
    limits.judge(rows)
    return rows


def _median_run(
    medians: dict[str, dict[str, Any]], runs: dict[str, list[Run]], name: str
) -> dict[str, Any]:
    """A session contender as one row's measurement: its medians, its first run's counts."""
    good = [run for run in runs[name] if run.ok]
    if not good:
        failed = runs[name][0] if runs[name] else None
        return {"ok": False, "error": failed.error if failed else "not run"}
    median = medians[name]
    return {
        **dataclasses.asdict(good[0]),
        "ok": True,
        "wall_s": median["wall_s"],
        "work_s": median["work_s"],
        "peak_rss_mb": median["peak_rss_mb"],
    }
