"""The pipeline benchmark at a tiny scale, so the package never rots (no timing assertions)."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import limits

ROOT = Path(__file__).resolve().parent.parent
TICKETS, COMMENTS = 300, 900  # the benchmark's tiny scale
CONTENDERS = (
    "floor",
    "bare_dlt",
    "full_load",
    "incremental_unchanged",
    "bare_refresh",
    "incremental_1pct",
)
# What every row of the limits table carries, run or not.
ROW_FIELDS = {
    "key", "label", "limit_formula", "limit_s", "wall_s", "work_s", "requests", "tokens",
    "answers", "http_429", "http_5xx", "peak_rss_mb", "ratio", "ok", "note", "target", "verdict",
}  # fmt: skip


def _bench(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run the benchmark at the tiny scale from the project's root, as `make bench` does."""
    out = tmp_path / "bench.json"
    command = [sys.executable, "-m", "benchmarks.pipeline", "--scale", "tiny", "--repeat", "1"]
    command += ["--out", str(out), *args]
    # The package is not installed: the root is the working directory.
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert result.stdout.strip().splitlines()[-1] == str(out)
    return result, json.loads(out.read_text())


@pytest.mark.parametrize(
    ("key", "tickets", "comments", "formula", "seconds"),
    [
        ("b", 100_000, 500_000, "6,000 pages x 0.1 s / 8", 75.0),
        ("d", 100_000, 500_000, "6,000 pages x 0.1 s / 8", 75.0),
        ("c", 10_000, 40_000, "500 pages / 10 per s", 50.0),
        ("c", 301, 900, "13 pages / 10 per s", 1.3),
    ],
    ids=["b-large", "d-large", "c-large", "c-partial-page"],
)
def test_each_limit_is_its_formula_over_the_fewest_pages(
    key: str, tickets: int, comments: int, formula: str, seconds: float
) -> None:
    assert limits.limit_of(key, limits.pages(tickets, comments)) == (formula, seconds)


@pytest.mark.parametrize(
    ("page_count", "seconds"),
    [(1, 0), (600, 0), (601, 60), (1_200, 60), (1_201, 120)],
    ids=["one", "one-window", "one-over", "two-windows", "two-over"],
)
def test_a_fixed_window_lets_the_last_page_through_when_its_window_opens(
    page_count: int, seconds: int
) -> None:
    assert limits.window_bound(page_count) == seconds


def _measured(wall: float, rss: float = 300.0, **statuses: int) -> dict[str, Any]:
    by_status = {"200": 100, **{status[1:]: n for status, n in statuses.items()}}
    return {"ok": True, "wall_s": wall, "get_requests": 100, "peak_rss_mb": rss,
            "requests_by_route": {"GET /v1/tickets": by_status}}  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "key", "verdict"),
    [
        ({"a": limits.row("a", "floor", 2.0, _measured(10.0))}, "a", "pass"),
        ({"a": limits.row("a", "floor", 2.0, _measured(10.1))}, "a", "miss"),
        ({"b": limits.row("b", "f", 10.0, _measured(13.0))}, "b", "pass"),
        ({"b": limits.row("b", "f", 10.0, _measured(12.0, rss=1100))}, "b", "miss"),
        ({"c": limits.row("c", "f", 10.0, _measured(11.0, s429=1))}, "c", "pass"),
        ({"c": limits.row("c", "f", 10.0, _measured(11.0, s429=2))}, "c", "miss"),
        (
            {
                "b": limits.row("b", "f", 10.0, _measured(20.0)),
                "d": limits.row("d", "f", 10.0, _measured(30.0)),
            },
            "d",
            "pass",
        ),
        ({"d": limits.row("d", "f", 10.0, _measured(12.0))}, "d", "-"),
        ({"idle": limits.row("idle", "bare", 3.0, _measured(5.5))}, "idle", "miss"),
        ({"idle": limits.row("idle", "bare", None, _measured(4.0))}, "idle", "-"),
        ({"b": limits.row("b", "f", 1.0, None, "skipped: the sandbox refused")}, "b", "skipped"),
        ({"b": limits.row("b", "f", 1.0, {"ok": False, "error": "killed"})}, "b", "failed"),
    ],
    ids=[
        "a-5x",
        "a-over-5x",
        "b-1.3x",
        "b-rss-over-1gb",
        "c-1pct-429",
        "c-2pct-429",
        "d-1.5x-b",
        "d-without-b",
        "idle-2.5s-over",
        "idle-without-bare",
        "skipped",
        "failed",
    ],
)
def test_a_row_passes_exactly_within_its_target(
    rows: dict[str, dict[str, Any]], key: str, verdict: str
) -> None:
    limits.judge(rows)

    assert rows[key]["verdict"] == verdict
    assert set(rows[key]) >= ROW_FIELDS


def test_the_stand_in_plays_latency_with_the_slow_fault_and_leaves_the_faults() -> None:
    latency, *faults, unspent = limits.FAULTS["d"]
    assert latency["name"] == "latency" and unspent["name"] == "rate_budget"
    # The 429s and 5xx stay; the unspent budget, which an older sandbox lacks too, goes.
    assert limits.stand_in(limits.FAULTS["d"]) == ({"name": "slow", "delay": 0.1}, *faults)


def test_an_unknown_contender_is_refused_before_anything_starts() -> None:
    command = [sys.executable, "-m", "benchmarks.pipeline", "--contenders", "a,e"]

    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)

    assert result.returncode == 2
    assert "choose among a,b,c,d" in result.stderr


def test_the_floor_process_imports_neither_dagster_nor_dlt_nor_the_sandbox_client() -> None:
    # The floor's start-up and memory are part of its numbers: its module must stay light.
    probe = "import sys, benchmarks.floor; print(' '.join(sys.modules))"

    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )

    packages = {name.split(".")[0] for name in result.stdout.split()}
    assert packages & {"dagster", "dlt", "duckdb", "support_assets"} == set()
    assert {"benchmarks", "orjson"} <= packages


# About 40 s: four runs of the real Dagster CLI, each paying its start-up.
@pytest.mark.slow
def test_pipeline_benchmark_measures_every_contender_at_the_tiny_scale(tmp_path: Path) -> None:
    _, report = _bench(tmp_path, "--contenders", "a")

    assert tuple(report["contenders"]) == CONTENDERS
    assert set(report["ratios"]) == {"3/1", "3/2"}
    every = {"tickets": TICKETS, "comments": COMMENTS}
    for name, entry in report["contenders"].items():
        (run,) = entry["runs"]
        assert run["ok"], (name, run["error"])
        assert entry["median"]["wall_s"] > 0, name
        # For the CLI contenders, read back from the instance their run wrote to.
        assert run["work_s"] > 0, name
        assert run["get_requests"] > 0, name
        assert run["token_requests"] > 0, name
        assert run["peak_rss_mb"] > 0, name
        if name != "floor":  # every load leaves the full tables behind, incremental or not
            assert run["rows"] == every, name
    # What the sandbox served: exact for the two plain readers. The code location may ask
    # for more (asset checks, re-read slices), so its exact count is the rows it left.
    for name in ("floor", "bare_dlt"):
        assert report["contenders"][name]["runs"][0]["records"] == every, name
    # The bare refresh is idle: one page per collection, no asset checks, one token.
    bare = report["contenders"]["bare_refresh"]["runs"][0]
    assert (bare["get_requests"], bare["token_requests"]) == (2, 1)
    assert report["updated_for_incremental_1pct"] == [{"tickets": 3, "comments": 9}]
    # (a) and the idle refresh, beside their limits: the floor and the bare process.
    assert list(report["limits"]) == ["a", "idle"]
    for key, row in report["limits"].items():
        assert set(row) >= ROW_FIELDS, key
        assert row["verdict"] in ("pass", "miss"), key
    median = report["contenders"]
    assert report["limits"]["a"]["limit_s"] == median["floor"]["median"]["wall_s"]
    assert report["limits"]["idle"]["limit_s"] == median["bare_refresh"]["median"]["wall_s"]
    assert report["limits"]["idle"]["wall_s"] == median["incremental_unchanged"]["median"]["wall_s"]


# About 20 s: three CLI full loads. (c) runs once the sandbox has `rate_budget`; before,
# it is skipped with the sandbox's reason, and the session still succeeds.
@pytest.mark.slow
def test_faulted_contenders_each_report_a_row_at_the_tiny_scale(tmp_path: Path) -> None:
    result, report = _bench(tmp_path, "--contenders", "b,c,d", "--stand-in")

    assert report["contenders"] == {}
    rows = report["limits"]
    assert list(rows) == ["b", "c", "d"]
    for key, row in rows.items():
        assert set(row) >= ROW_FIELDS | {"tickets", "comments", "faults"}, key
        assert (row["tickets"], row["comments"]) == (TICKETS, COMMENTS), key
        assert row["limit_s"] == limits.limit_of(key, limits.pages(TICKETS, COMMENTS))[1], key
    for key in ("b", "d"):  # `slow` plays the latency: both run on any sandbox
        assert rows[key]["ok"], (key, rows[key]["note"])
        assert rows[key]["verdict"] in ("pass", "miss"), key
        assert rows[key]["faults"][0] == {"name": "slow", "delay": 0.1}, key
        assert rows[key]["requests"] >= 12, key  # every page at least once
    if rows["c"]["ok"]:
        assert rows["c"]["verdict"] in ("pass", "miss")
    else:
        assert rows["c"]["verdict"] == "skipped"
        assert "unknown fault" in rows["c"]["note"] and "rate_budget" in rows["c"]["note"]
        assert "(c)" in result.stdout and "rate_budget" in result.stdout
