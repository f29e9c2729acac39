"""The pipeline benchmark's report: medians per contender, the ratios, the table, the JSON.

The README's benchmark figures are read off what `render` prints and what the JSON holds,
so their columns and formats change only with the README.
"""

import contextlib
import importlib.metadata
import os
import platform
import statistics
import subprocess
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from benchmarks.measure import SAMPLE_SECONDS
from benchmarks.session import CONTENDERS, ROOT, Run

LABELS = {
    "floor": "1 floor: http.client + orjson",
    "bare_dlt": "2 bare dlt rest_api",
    "full_load": "3 support_assets full load",
    "incremental_unchanged": "4 incremental, nothing changed",
    "bare_refresh": "4b the same dlt run, bare process",
    "incremental_1pct": "5 incremental, 1% updated",
}
# Other processes using more than this share of one core during a run make it noisy.
BUSY_SHARE = 0.1

_COLUMNS = ("wall_s", "work_s", "records", "records_per_s", "get_requests", "token_requests")
_COLUMNS += ("peak_rss_mb",)


def medians(runs: list[Run]) -> dict[str, float | None]:
    """Median of each column over the successful runs; None where there are none."""
    good = [run for run in runs if run.ok]
    values: dict[str, list[float]] = {
        "wall_s": [r.wall_s for r in good],
        "work_s": [r.work_s for r in good if r.work_s is not None],
        "records": [float(sum(r.records.values())) for r in good],
        "records_per_s": [r.records_per_s for r in good],
        "get_requests": [float(r.get_requests) for r in good],
        "token_requests": [float(r.token_requests) for r in good],
        "peak_rss_mb": [r.peak_rss_mb for r in good],
        "hwm_sum_mb": [r.hwm_sum_mb for r in good],
    }
    return {key: statistics.median(v) if v else None for key, v in values.items()}


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing or b is zero."""
    return a / b if a is not None and b else None


def _cell(value: float | None, column: str) -> str:
    if value is None:
        return "-"
    if column in ("wall_s", "work_s"):
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def render(report: dict[str, Any]) -> str:
    """The table: one row per contender, then the ratios 3/1 and 3/2 of every column."""
    heads = ("wall s", "work s", "records", "rec/s", "GET /v1", "token", "peak RSS MB")
    widths = (9, 9, 10, 10, 8, 6, 12)
    header = f"{'contender':<32}" + "".join(f"{h:>{w}}" for h, w in zip(heads, widths, strict=True))
    lines = [header, "-" * len(header)]
    for name in CONTENDERS:
        entry = report["contenders"][name]
        cells = [_cell(entry["median"][c], c) for c in _COLUMNS]
        failed = sum(not run["ok"] for run in entry["runs"])
        mark = f"  FAILED {failed}/{len(entry['runs'])}" if failed else ""
        row = "".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True))
        lines.append(f"{LABELS[name]:<32}{row}{mark}")
    for label, values in report["ratios"].items():
        cells = [
            "-" if values[c] is None else f"{values[c]:,.2f}x" if c != "records" else ""
            for c in _COLUMNS
        ]
        lines.append(
            f"{'ratio ' + label:<32}"
            + "".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True))
        )
    return "\n".join(lines)


def versions() -> dict[str, str]:
    """Versions of what is measured, so numbers from two machines can be compared."""
    found = {}
    for package in ("dagster", "dagster-dlt", "dlt", "duckdb", "orjson"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[package] = importlib.metadata.version(package)
    return found


def code_state() -> dict[str, Any]:
    """The commit measured, and the code location's files that differ from it.

    Others edit the code location while benchmarks run; a number means little without
    the code it measured.
    """

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
            )
        except (OSError, subprocess.CalledProcessError):
            return ""
        return done.stdout.rstrip("\n")  # porcelain lines start with a meaningful space

    changed = git("status", "--porcelain", "--", "support_assets", "pyproject.toml")
    return {
        "commit": git("rev-parse", "HEAD") or None,
        "uncommitted": [line[3:] for line in changed.splitlines()],
    }


def build_report(
    session: Mapping[str, Any],
    runs: Mapping[str, list[Run]],
    code: Mapping[str, Any],
    sandbox_peak_rss_mb: float | None,
    updated: list[dict[str, int]],
    session_ran: bool = True,
) -> dict[str, Any]:
    """The JSON: the session's settings, the machine, every run, the medians and the ratios.

    Without the session (`--contenders` without a), no contenders and no ratios.
    """
    names = CONTENDERS if session_ran else ()
    contenders = {
        name: {
            "label": LABELS[name],
            "median": medians(runs[name]),
            "runs": [{**asdict(run), "records_per_s": run.records_per_s} for run in runs[name]],
        }
        for name in names
    }
    median_of = {name: contenders[name]["median"] for name in names}
    ratios = {
        label: {c: ratio(median_of["full_load"][c], median_of[base][c]) for c in _COLUMNS}
        for label, base in (("3/1", "floor"), ("3/2", "bare_dlt"))
        if session_ran
    }
    return {
        **session,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "versions": versions(),
        },
        "code": dict(code),
        "rss_method": (
            f"max over {SAMPLE_SECONDS} s samples of the sum of VmRSS over the contender's "
            "process tree (/proc); for the single-process contenders 1 and 2 at least their "
            "own VmHWM at exit; hwm_sum_mb is the sum of each process's VmHWM, an upper bound"
        ),
        "sandbox_peak_rss_mb": sandbox_peak_rss_mb,
        "updated_for_incremental_1pct": updated,
        "contenders": contenders,
        "ratios": ratios,
    }


def footnotes(runs: Mapping[str, list[Run]]) -> list[str]:
    """The paragraphs under the table: its columns, the noisy runs, why each failure failed."""
    notes = [
        "\nwall s: process start to exit; work s: the contender's own timing of its fetch "
        "or dlt run;\nrecords: served by the sandbox; peak RSS: the contender's whole "
        "process tree, sampled every 0.2 s."
    ]
    busy = [
        f"{name} (rep {number}): {run.other_cpu_s:.1f} CPU s in {run.wall_s:.1f} s"
        for name in CONTENDERS
        for number, run in enumerate(runs[name], start=1)
        if run.other_cpu_s > BUSY_SHARE * run.wall_s
    ]
    if busy:
        notes.append(
            "\nother processes used over a tenth of a core while these ran, so their "
            "times are pessimistic:\n  " + "\n  ".join(busy)
        )
    notes.extend(
        f"\n{LABELS[name]}, repetition {number}: {run.error}"
        for name in CONTENDERS
        for number, run in enumerate(runs[name], start=1)
        if not run.ok
    )
    return notes
