"""Importing the code does nothing: no setting read, no environment or logging changed."""

import json
import subprocess
import sys
from pathlib import Path

# Run in a fresh interpreter: this process has imported everything long ago. Third-party
# packages are imported first, so what they read at their own import is not counted.
PROBE = """
import importlib, json, logging, os, pkgutil
import dagster, dagster_dlt, dlt, dlt.sources.rest_api, duckdb, orjson, pyarrow, requests
before = dict(os.environ)
reads = []
environ_type = type(os.environ)
original = environ_type.__getitem__
def recording(self, key):
    reads.append(key)
    return original(self, key)
environ_type.__getitem__ = recording
filters = {name: list(logging.getLogger(name).filters) for name in ("", "dlt", "dagster")}
import support_assets
names = [
    m.name for m in pkgutil.walk_packages(support_assets.__path__, "support_assets.")
    if not m.name.endswith("__main__")
]
for name in names:
    importlib.import_module(name)
environ_type.__getitem__ = original
print(json.dumps({
    "modules": names,
    "reads": sorted({k for k in reads if k.startswith(("SUPPORT_", "SOURCES__", "DESTINATION__"))}),
    "changed": sorted(
        k for k in set(os.environ) | set(before) if os.environ.get(k) != before.get(k)
    ),
    "filters": sorted(n for n, f in filters.items() if logging.getLogger(n).filters != f),
}))
"""


def test_importing_every_module_reads_no_setting_and_changes_nothing(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SUPPORT_API_BASE_URL": "http://x"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "support_assets.source.paginators.offset" in report["modules"]
    assert "support_assets.definitions" in report["modules"]
    assert report["reads"] == []
    assert report["changed"] == []
    assert report["filters"] == []
    # Nor does it write: no dlt folder, no DuckDB file where it was imported.
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_loading_the_code_location_imports_no_sandbox_benchmark_or_web_server() -> None:
    # Every `dagster` CLI call, run and code server pays for what the location imports:
    # only what a run needs belongs there (the sandbox is a test and demo tool).
    probe = "import sys, support_assets.definitions; print(' '.join(sys.modules))"

    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True
    )

    modules = done.stdout.split()
    assert "support_assets.definitions" in modules
    assert [name for name in modules if name.startswith("support_assets.sandbox")] == []
    heavy = {"benchmarks", "uvicorn", "starlette", "uvloop", "httptools"}
    assert {name.split(".")[0] for name in modules} & heavy == set()
