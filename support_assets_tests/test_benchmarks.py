"""The pipeline benchmark at a tiny scale, so the package never rots (no timing assertions)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TICKETS, COMMENTS = 300, 900  # the benchmark's tiny scale
CONTENDERS = ("floor", "bare_dlt", "full_load", "incremental_unchanged", "incremental_1pct")


def test_the_floor_process_imports_neither_dagster_nor_dlt_nor_the_sandbox_client() -> None:
    # The floor's start-up and memory are part of its numbers: its module must stay light.
    probe = "import sys, benchmarks.floor; print(' '.join(sys.modules))"

    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )

    packages = {name.split(".")[0] for name in result.stdout.split()}
    assert packages & {"dagster", "dlt", "duckdb", "support_assets"} == set()
    assert {"benchmarks", "orjson"} <= packages


# About 30 s: three runs of the real Dagster CLI, each paying its start-up.
@pytest.mark.slow
def test_pipeline_benchmark_measures_every_contender_at_the_tiny_scale(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    command = [sys.executable, "-m", "benchmarks.pipeline"]
    command += ["--scale", "tiny", "--repeat", "1", "--out", str(out)]

    # From the project's root, as `make bench` runs it: the package is not installed.
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert result.stdout.strip().splitlines()[-1] == str(out)
    report = json.loads(out.read_text())
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
    assert report["updated_for_incremental_1pct"] == [{"tickets": 3, "comments": 9}]
