"""The `support_tickets` and `ticket_comments` assets, through dagster-dlt."""

import time
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData
from pydantic import Field

from support_assets.columns import described
from support_assets.partitions import continue_history, daily_partitions, plan_for
from support_assets.pipeline import definition_working_dir, loader_file_format, support_pipeline
from support_assets.pipeline.load import SupportLoad
from support_assets.pipeline.progress import ProgressReporter
from support_assets.pipeline.slices import SliceLoader
from support_assets.pipeline.warehouse import (
    SCHEMA_CHANGES,
    count_rows,
    drop_unread_rows,
    stored_cursors,
)
from support_assets.reconcile.marks import unmark_comments_of_live_tickets
from support_assets.resources import SupportApiResource
from support_assets.settings import Settings
from support_assets.source import support_source_names_only
from support_assets.source.contract import DESCRIPTIONS
from support_assets.source.telemetry import run_summary, telemetry_metadata

GROUP = "support"
POOL = "support_api"
# On `support_full_refresh_job`: a run's tags come with it however it is launched, while
# a partitioned job's default config reaches only the launches that ask for it.
FULL_REFRESH_TAG = "support/full_refresh"
# Metadata key (SUPPORT_HISTORY=scd2): every version a table holds; `dagster/row_count`
# counts the current ones.
VERSIONS = "versions"


class SupportTranslator(DagsterDltTranslator):
    """Asset key = dlt resource name, no upstream stubs, one group."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings  # the desk, for descriptions and the column schema

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        """Name the assets after their tables; the API is not an asset of ours."""
        spec = super().get_asset_spec(data)
        spec = spec.replace_attributes(
            key=dg.AssetKey(data.resource.name),
            deps=[],
            group_name=GROUP,
            description=DESCRIPTIONS.get(data.resource.name, spec.description),
        )
        return described(spec, self.settings, data.resource.name)


def load_retry_policy(settings: Settings) -> dg.RetryPolicy | None:
    """Retry a failed load in its run: the n-th retry n x `SUPPORT_LOAD_RETRY_DELAY` later.

    A vendor outage outlasts a request's own retries (2 + 4 + 8 s); retrying the run at
    once, as Dagster's run retries do, spends the next attempt inside the same outage.
    """
    if settings.load_retries == 0:
        return None
    return dg.RetryPolicy(
        max_retries=settings.load_retries,
        delay=settings.load_retry_delay,
        backoff=dg.Backoff.LINEAR,
    )


class SupportLoadConfig(dg.Config):
    """Run config of the support assets (the launchpad's `ops.support_api_assets.config`)."""

    full_refresh: bool = Field(
        default=False,
        description=(
            "Rebuild the selected tables from SUPPORT_START_DATE: records purged at the "
            "vendor vanish. Readers keep the old rows until the new ones are committed."
        ),
    )


def build_support_assets(settings: Settings) -> dg.AssetsDefinition:
    """The two dlt resources as one multi-asset, each run with its own working dir."""

    # `@dlt_assets` spelled out as the `multi_asset` it is, because it takes no retry
    # policy (nor does `with_attributes`: dagster-io/dagster#29052): a failed load waits
    # and tries again inside its run, backfill runs included (Dagster's run retries have
    # no delay, and backfill runs do not carry job tags).
    @dg.multi_asset(
        specs=build_dlt_asset_specs(
            # Names only: loading the code location looks up no dlt config or secret.
            dlt_source=support_source_names_only(api=settings.api),
            dlt_pipeline=support_pipeline(settings, definition_working_dir(settings)),
            dagster_dlt_translator=SupportTranslator(settings),
        ),
        name="support_api_assets",
        # Comments read per ticket come from the tickets this run loads: the two load
        # together, or the tickets' cursor would move without their rows.
        can_subset=not settings.api.comments.per_ticket,
        partitions_def=daily_partitions(settings),
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=POOL,
        retry_policy=load_retry_policy(settings),
    )
    def support_api_assets(
        context: dg.AssetExecutionContext,
        config: SupportLoadConfig,
        dlt: DagsterDltResource,
        support_api: SupportApiResource,
    ) -> Iterator[Any]:
        """Tickets and comments from the Support API, merged on id."""
        full_refresh = config.full_refresh or context.run.tags.get(FULL_REFRESH_TAG) == "true"
        plan = plan_for(context, settings, full_refresh)
        connection = support_api.connect(settings)
        telemetry = connection.telemetry
        selected = [key.path[-1] for key in context.selected_asset_keys]
        load = SupportLoad(
            settings, context.run.run_id, context.retry_number, telemetry, context.log
        )
        with load:
            plan = continue_history(settings, plan, load.cursors_before, selected)
            context.log.info(f"Reading {plan.description}.")
            started = time.monotonic()
            # A retry of the run, or a re-execution from failure, shares its root run id.
            lineage = context.run.root_run_id or context.run.run_id
            slices = SliceLoader(
                settings,
                plan,
                load,
                connection,
                selected,
                lineage,
                context.log,
                customer_data=support_api.customer_data(settings),
            )
            every = settings.progress_every
            with ProgressReporter(telemetry, slices, every, context.log) as progress:
                results = slices.run(
                    lambda source: dlt.run(
                        context=context,
                        dlt_source=source,
                        dlt_pipeline=load.pipeline,
                        dagster_dlt_translator=SupportTranslator(settings),
                        schema_contract=schema_contract(settings),
                        loader_file_format=loader_file_format(settings),
                    )
                )
            tables = [result.asset_key.path[-1] for result in results if result.asset_key]
            if settings.history == "scd2":
                # The merge retired what a full refresh did not read; history stays.
                if slices.closed:
                    context.log.info(f"{slices.closed} versions superseded in this run closed.")
            elif plan.full_refresh:
                purged = drop_unread_rows(load.pipeline, tables, slices.refresh_since)
                context.log.info(f"Full refresh: {purged} rows the API no longer serves deleted.")
            back = unmark_comments_of_live_tickets(load.pipeline, settings)
            if back:
                context.log.info(f"{back} comments of tickets that came back are unmarked.")
            # Counted under the guards: another process can take the file between the load's
            # commit and these reads, and that is a retried step, not a failed run.
            history = settings.history == "scd2"
            row_counts = count_rows(load.pipeline, tables, current_only=history)
            versions = count_rows(load.pipeline, tables) if history else {}
            cursors_after = stored_cursors(load.pipeline, settings.api)
            changes = slices.changes
        elapsed = time.monotonic() - started
        warn_of_type_changes(context, changes)
        before = load.cursors_before
        context.log.info(run_summary(telemetry, elapsed, plan.description, before, cursors_after))
        for result, table in zip(results, tables, strict=True):
            yield result._replace(
                metadata={
                    **(result.metadata or {}),
                    **telemetry_metadata(telemetry, table, elapsed),
                    **plan.metadata(before.get(table), cursors_after.get(table)),
                    **slices.metadata(),
                    **progress.metadata(table),
                    "dagster/row_count": dg.MetadataValue.int(row_counts[table]),
                    # With history: every version stored, current and retired.
                    **({VERSIONS: dg.MetadataValue.int(versions[table])} if history else {}),
                    # dagster-dlt names the dlt schema where the dataset belongs.
                    "dagster/table_name": f"{settings.dataset}.{table}",
                    SCHEMA_CHANGES: dg.MetadataValue.json(
                        {t: c for t, c in changes.items() if t.startswith(table)}
                    ),
                }
            )

    return support_api_assets


def schema_contract(settings: Settings) -> Mapping[str, str]:
    """Dlt's schema contract for `SUPPORT_SCHEMA_CONTRACT`: new tables always evolve."""
    if settings.schema_contract == "freeze":
        return {"tables": "evolve", "columns": "freeze", "data_type": "freeze"}
    return {"tables": "evolve", "columns": "evolve", "data_type": "evolve"}


def warn_of_type_changes(context: dg.AssetExecutionContext, changes: dict[str, list[str]]) -> None:
    """A field that changed type gets a variant column: say so where people look."""
    for table, columns in changes.items():
        variants = [c for c in columns if "__v_" in c]
        if variants:
            context.log.warning(
                f"{table}: a field changed type; new values go to {variants} and the "
                "original column keeps the older values (dlt variant columns). Set "
                "SUPPORT_SCHEMA_CONTRACT=freeze to stop such loads instead."
            )
