"""The code location: the one place that builds `dg.Definitions`."""

from typing import Any

import dagster as dg
from dagster_dlt import DagsterDltResource

from support_assets.alerts.sensors import build_sensors
from support_assets.alerts.sink import WEBHOOK_VARIABLE, AlertSink
from support_assets.assets import build_support_assets
from support_assets.checks import build_checks
from support_assets.erasure import support_erasure_job
from support_assets.jobs import build_jobs
from support_assets.resources import SupportApiResource
from support_assets.schedules import build_schedules
from support_assets.settings import Settings
from support_assets.source.contract import CREDENTIAL_SETTINGS


def build_definitions(settings: Settings) -> dg.Definitions:
    """Wire the assets to their resources; secrets stay `EnvVar`s until a run starts."""
    support_assets = build_support_assets(settings)
    return dg.Definitions(
        assets=[support_assets],
        asset_checks=build_checks(settings),
        jobs=[*build_jobs(settings), support_erasure_job(settings)],
        schedules=build_schedules(settings),
        sensors=build_sensors(settings, support_assets),
        # A run is one load step and one check step, in that order: the multiprocess
        # executor would start a process per step and import the code location in each
        # (about 5 s apiece here) to gain no parallelism. Runs stay separate processes.
        executor=dg.in_process_executor,
        resources={
            "dlt": DagsterDltResource(),
            "support_api": SupportApiResource(
                base_url=dg.EnvVar("SUPPORT_API_BASE_URL"),
                token_url=settings.token_url,
                **credentials_of(settings.api.auth),
                # A secret too, bound only when set (an unset `EnvVar` fails the run).
                hash_salt=dg.EnvVar("SUPPORT_HASH_SALT") if settings.hash_salt else "",
            ),
            # The webhook URL is a secret: an `EnvVar`, resolved at each sensor tick and shown
            # in the UI by name only. Unset, alerts go to the sensors' log and the UI alone
            # (an `EnvVar` of an unset variable would fail every tick instead).
            "alert_sink": AlertSink(
                webhook_url=dg.EnvVar(WEBHOOK_VARIABLE) if settings.alert_webhook else ""
            ),
        },
    )


def credentials_of(auth: str) -> dict[str, Any]:
    """The resource's credential fields for an auth kind, each bound to its variable.

    Only the chosen kind's: an `EnvVar` of an unset variable fails the run.
    """
    return {field: dg.EnvVar(name) for field, name in CREDENTIAL_SETTINGS[auth]}


@dg.definitions
def defs() -> dg.Definitions:
    """Read the settings when the code location loads, not when the module is imported."""
    return build_definitions(Settings.from_env())
