"""Jobs over the support assets: the incremental refresh and the full rebuild."""

from typing import Any

import dagster as dg

from support_assets.assets import FULL_REFRESH_TAG
from support_assets.reconcile.job import build_reconcile_job
from support_assets.settings import Settings

SUPPORT_ASSETS = dg.AssetSelection.groups("support")
FULL_REFRESH_CONFIG = {"ops": {"support_api_assets": {"config": {"full_refresh": True}}}}


# `define_asset_job` returns a type Dagster does not export, hence `Any`.
def build_jobs(settings: Settings) -> list[Any]:
    """`support_refresh_job` (what the schedule runs) and `support_full_refresh_job`."""
    # Dagster retries a run this often when its worker died. A load that failed is not
    # retried as a run (that would be at once): its step is, after a delay, in the run
    # (SUPPORT_LOAD_RETRIES), so a dead API sees (SUPPORT_MAX_RETRIES + 1) x
    # (SUPPORT_LOAD_RETRIES + 1) calls of the failing request per launch.
    retries = {
        "dagster/max_retries": str(settings.run_max_retries),
        "dagster/retry_on_asset_or_op_failure": "false",
    }
    # Run monitoring fails a refresh that outlives this, which is what frees the pool
    # when the run's worker and its code server died together.
    max_runtime = {"dagster/max_runtime": str(int(settings.refresh_max_runtime))}
    return [
        dg.define_asset_job(
            "support_refresh_job",
            selection=SUPPORT_ASSETS,
            description="Incremental refresh of tickets and comments (today's partition).",
            tags={**retries, **max_runtime},
        ),
        dg.define_asset_job(
            "support_full_refresh_job",
            selection=SUPPORT_ASSETS,
            config=FULL_REFRESH_CONFIG,
            description="Rebuild both tables from SUPPORT_START_DATE; the cursor follows.",
            # The config above is only a default the launchpad shows: a launch with a
            # partition and no config (the CLI, GraphQL's launchRun) would run incremental.
            tags={**retries, FULL_REFRESH_TAG: "true"},
        ),
        build_reconcile_job(settings),
    ]
