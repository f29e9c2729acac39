"""Jobs over the support assets: the incremental refresh and the full rebuild."""

from typing import Any

import dagster as dg

from support_assets.assets import FULL_REFRESH_TAG
from support_assets.settings import Settings

SUPPORT_ASSETS = dg.AssetSelection.groups("support")
FULL_REFRESH_CONFIG = {"ops": {"support_api_assets": {"config": {"full_refresh": True}}}}


# `define_asset_job` returns a type Dagster does not export, hence `Any`.
def build_jobs(settings: Settings) -> list[Any]:
    """`support_refresh_job` (what the schedule runs) and `support_full_refresh_job`."""
    # Dagster retries a failed run this often; each run already retries each request
    # SUPPORT_MAX_RETRIES times, so a dead API sees (retries + 1) x (run retries + 1) calls.
    retries = {"dagster/max_retries": str(settings.run_max_retries)}
    return [
        dg.define_asset_job(
            "support_refresh_job",
            selection=SUPPORT_ASSETS,
            description="Incremental refresh of tickets and comments (today's partition).",
            tags=retries,
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
    ]
