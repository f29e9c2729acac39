"""Contender 2, bare dlt: the seed's `rest_api` pipeline as plain dlt runs it, the baseline.

    python -m benchmarks.bare_dlt --result /tmp/bare_dlt.json   # SUPPORT_* from the environment

The pipeline benchmark runs it in a process of its own and never imports it: only this
process pays for dlt's imports.
"""

import time
from collections.abc import Mapping
from typing import Any, cast

import dlt
from dlt.sources.rest_api import rest_api_source
from dlt.sources.rest_api.typing import RESTAPIConfig

from benchmarks.measure import run_as_child
from benchmarks.workload import COLLECTIONS, DATASET, PAGE_SIZE


def bare_dlt_config(env: Mapping[str, str]) -> dict[str, Any]:
    """The seed's `rest_api` configuration, changed only where dlt 1.31 rejects it.

    Written out here rather than imported from `support_assets.source`, so the baseline
    stays the seed's, whatever the code location's translation does. The two changes: the
    seed's `{"type": "oauth2", "token_url": ...}` becomes dlt's `oauth2_client_credentials`
    with `access_token_url`, and the endpoint `error_handler` (not a dlt key) is dropped;
    dlt's own session retries instead.
    """
    return {
        "client": {
            "base_url": env["SUPPORT_API_BASE_URL"],
            "auth": {
                "type": "oauth2_client_credentials",
                "access_token_url": env["SUPPORT_API_TOKEN_URL"],
                "client_id": env["SUPPORT_API_CLIENT_ID"],
                "client_secret": env["SUPPORT_API_CLIENT_SECRET"],
            },
            "paginator": {
                "type": "offset",
                "limit": PAGE_SIZE,
                "offset_param": "offset",
                "limit_param": "limit",
                "total_path": "total",
            },
        },
        "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
        "resources": [
            {"name": table, "endpoint": {"path": path, "data_selector": selector}}
            for path, selector, table in COLLECTIONS.values()
        ],
    }


def run(env: Mapping[str, str]) -> dict[str, Any]:
    """Run the plain `rest_api` pipeline into a fresh DuckDB file, with dlt's defaults."""
    pipeline = dlt.pipeline(
        pipeline_name="bench_bare_dlt",
        pipelines_dir=env["SUPPORT_DLT_DIR"],
        destination=dlt.destinations.duckdb(credentials=env["SUPPORT_DUCKDB_PATH"]),
        dataset_name=DATASET,
    )
    started = time.perf_counter()
    pipeline.run(rest_api_source(cast(RESTAPIConfig, bare_dlt_config(env))))
    return {"work_s": time.perf_counter() - started}


if __name__ == "__main__":
    run_as_child(run)
