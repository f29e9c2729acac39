"""The `support_tickets` and `ticket_comments` assets, through dagster-dlt."""

import contextlib
import datetime as dt
import shutil
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData
from dlt.common.pipeline import LoadInfo
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from pydantic import Field

from support_assets.paginator import format_ts, parse_ts
from support_assets.partitions import RunPlan, continue_history, daily_partitions, plan_run
from support_assets.pipeline import (
    definition_working_dir,
    destination_lock_explained,
    drop_unread_rows,
    duckdb_file_guarded,
    fit_memory_limit,
    full_refresh_window,
    loader_file_format,
    out_of_memory_explained,
    remove_old_run_dirs,
    run_working_dir,
    support_pipeline,
)
from support_assets.resources import SupportApiResource
from support_assets.schedules import REQUESTED_AT_TAG
from support_assets.settings import Settings
from support_assets.source import DESCRIPTIONS, SOURCE_NAME, Connection, support_source

GROUP = "support"
POOL = "support_api"
# On `support_full_refresh_job`: a run's tags come with it however it is launched, while
# a partitioned job's default config reaches only the launches that ask for it.
FULL_REFRESH_TAG = "support/full_refresh"


class SupportTranslator(DagsterDltTranslator):
    """Asset key = dlt resource name, no upstream stubs, one group."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        """Name the assets after their tables; the API is not an asset of ours."""
        spec = super().get_asset_spec(data)
        return spec.replace_attributes(
            key=dg.AssetKey(data.resource.name),
            deps=[],
            group_name=GROUP,
            description=DESCRIPTIONS.get(data.resource.name, spec.description),
        )


def definition_pipeline_dir(settings: Settings) -> Path:
    """Where the load-time pipeline object lives: per project and destination."""
    return definition_working_dir(settings)


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
    # policy: a failed load waits and tries again inside its run, backfill runs included
    # (Dagster's run retries have no delay, and backfill runs do not carry job tags).
    @dg.multi_asset(
        specs=build_dlt_asset_specs(
            dlt_source=support_source(),
            dlt_pipeline=support_pipeline(settings, definition_pipeline_dir(settings)),
            dagster_dlt_translator=SupportTranslator(),
        ),
        name="support_api_assets",
        can_subset=True,
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
        # A single partition or a range (a single-run backfill): both have a time window.
        partitioned = context.has_partition_key or context.has_partition_key_range
        time_window = context.partition_time_window if partitioned else None
        full_refresh = config.full_refresh or context.run.tags.get(FULL_REFRESH_TAG) == "true"
        plan = plan_run(
            settings,
            time_window,
            dt.datetime.now(dt.UTC),
            full_refresh,
            as_of=requested_at(context),
        )
        connection = support_api.connect(
            settings.api, settings.retry, settings.token_refresh_margin
        )
        connection.arrow_pages = settings.arrow_pages
        connection.window_lag = settings.window_lag
        working_dir = run_working_dir(settings, context.run.run_id)
        # A retried step starts clean, as a new run would; dlt restores the cursor from
        # the destination, so nothing a failed attempt left here is needed.
        shutil.rmtree(working_dir, ignore_errors=True)
        for folder in remove_old_run_dirs(settings, context.run.run_id):
            context.log.info(f"Removed the dlt files of an old run: {folder.name}.")
        pipeline = support_pipeline(settings, working_dir)
        connection.telemetry.on_large_record = fit_memory_limit(pipeline, settings)
        largest = connection.telemetry.describe_largest_record
        with (
            duckdb_file_guarded(settings),
            destination_lock_explained(settings, context.retry_number),
            out_of_memory_explained(settings, largest),
        ):
            # The cursors as the destination holds them before this run (dlt restores them
            # the same way when the run starts), for the "before" half of the metadata.
            pipeline.sync_destination()
            cursors_before = stored_cursors(pipeline, settings.api.cursor_field)
            selected = [key.path[-1] for key in context.selected_asset_keys]
            plan = continue_history(settings, plan, cursors_before, selected)
            context.log.info(f"Reading {plan.description}.")
            started = time.monotonic()
            window = full_refresh_window(plan.window) if full_refresh else plan.window
            results = list(
                dlt.run(
                    context=context,
                    dlt_source=support_source(connection, window),
                    dlt_pipeline=pipeline,
                    dagster_dlt_translator=SupportTranslator(),
                    schema_contract=_contract(settings),
                    loader_file_format=loader_file_format(settings),
                )
            )
            if full_refresh:
                tables = [r.asset_key.path[-1] for r in results if r.asset_key is not None]
                purged = drop_unread_rows(pipeline, tables)
                context.log.info(f"Full refresh: {purged} rows the API no longer serves deleted.")
            # Counted under the same guard: another process can take the file between the
            # load's commit and these reads, and that is a retried step, not a failed run.
            row_counts = {
                r.asset_key.path[-1]: _row_count(pipeline, r.asset_key.path[-1])
                for r in results
                if r.asset_key is not None
            }
        elapsed = time.monotonic() - started
        load_info: LoadInfo | None = (
            pipeline.last_trace.last_load_info if pipeline.last_trace else None
        )
        changes = schema_changes(load_info)
        for table, columns in changes.items():
            variants = [c for c in columns if "__v_" in c]
            if variants:
                context.log.warning(
                    f"{table}: a field changed type; new values go to {variants} and the "
                    "original column keeps the older values (dlt variant columns). Set "
                    "SUPPORT_SCHEMA_CONTRACT=freeze to stop such loads instead."
                )
        cursors_after = stored_cursors(pipeline, settings.api.cursor_field)
        context.log.info(
            run_summary(connection, elapsed, plan.description, cursors_before, cursors_after)
        )
        for result in results:
            assert result.asset_key is not None  # dagster-dlt names every result's asset
            name = result.asset_key.path[-1]
            yield result._replace(
                metadata={
                    **(result.metadata or {}),
                    **run_metadata(connection, name, elapsed),
                    **window_metadata(plan, cursors_before.get(name), cursors_after.get(name)),
                    "window": plan.description,
                    "dagster/row_count": dg.MetadataValue.int(row_counts[name]),
                    # dagster-dlt names the dlt schema where the dataset belongs.
                    "dagster/table_name": f"{settings.dataset}.{name}",
                    "schema_changes": dg.MetadataValue.json(
                        {t: c for t, c in changes.items() if t.startswith(name)}
                    ),
                }
            )
        if not settings.keep_run_files:
            shutil.rmtree(working_dir, ignore_errors=True)

    return support_api_assets


def requested_at(context: dg.AssetExecutionContext) -> dt.datetime | None:
    """When the run was asked for: its tick's time, else its first attempt's creation.

    Which partition is "today" depends on it: a run queued or retried past midnight is
    still the run that was asked for on the day before.
    """
    tag = context.run.tags.get(REQUESTED_AT_TAG)
    if tag:
        with contextlib.suppress(ValueError):
            return dt.datetime.fromisoformat(tag).astimezone(dt.UTC)
    record = context.instance.get_run_record_by_id(context.run.root_run_id or context.run.run_id)
    created = record.create_timestamp if record is not None else None
    if created is None:
        return None
    return created if created.tzinfo else created.replace(tzinfo=dt.UTC)


def _contract(settings: Settings) -> Mapping[str, str]:
    if settings.schema_contract == "freeze":
        return {"tables": "evolve", "columns": "freeze", "data_type": "freeze"}
    return {"tables": "evolve", "columns": "evolve", "data_type": "evolve"}


def schema_changes(load_info: LoadInfo | None) -> dict[str, list[str]]:
    """Columns this load added, by table: what the UI shows when the API's shape moved."""
    changes: dict[str, list[str]] = {}
    if load_info is None:
        return changes
    for package in load_info.load_packages:
        for table, schema in (package.schema_update or {}).items():
            if table.startswith("_dlt"):
                continue
            changes.setdefault(table, []).extend(sorted(schema.get("columns", {})))
    return changes


def run_metadata(connection: Connection, resource: str, elapsed: float) -> dict[str, Any]:
    """The HTTP telemetry of the run, as numbers the UI can plot."""
    t = connection.telemetry
    records = t.records[resource]
    return {
        "http_requests": t.requests,
        "pages": t.pages[resource],
        "records_fetched": records,
        "pages_via_row_path": t.row_path_pages[resource],
        "retries": t.retries,
        # Vendor fields colliding with the loader's columns, and the columns keeping them.
        **(
            {"renamed_fields": dg.MetadataValue.json(t.renamed_fields[resource])}
            if resource in t.renamed_fields
            else {}
        ),
        "rate_limited_429": t.rate_limited,
        "retry_after_wait_s": round(t.retry_after_wait_s, 3),
        "token_grants": t.token_grants,
        "token_recoveries": t.token_recoveries,
        "duration_s": round(elapsed, 3),
        "records_per_s": round(records / elapsed, 1) if elapsed > 0 else 0.0,
        **{f"retries_{cause}": n for cause, n in sorted(t.retries_by_status.items())},
    }


def stored_cursors(pipeline: Any, cursor_field: str) -> dict[str, dt.datetime]:
    """Each resource's incremental cursor as the pipeline's dlt state holds it, by resource."""
    resources = pipeline.state.get("sources", {}).get(SOURCE_NAME, {}).get("resources", {})
    cursors: dict[str, dt.datetime] = {}
    for name, state in resources.items():
        value = state.get("incremental", {}).get(cursor_field, {}).get("last_value")
        if isinstance(value, dt.datetime):
            cursors[name] = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        elif isinstance(value, str):
            with contextlib.suppress(ValueError):  # telemetry never fails a load
                cursors[name] = parse_ts(value)
    return cursors


def window_metadata(
    plan: RunPlan, before: dt.datetime | None, after: dt.datetime | None
) -> dict[str, Any]:
    """What the run read: a backfill's window, and the cursor before and after the run."""
    metadata: dict[str, Any] = {}
    if not plan.incremental:
        metadata["window_start"] = dg.MetadataValue.timestamp(plan.window.start)
        if plan.window.end is not None:
            metadata["window_end"] = dg.MetadataValue.timestamp(plan.window.end)
    # A first incremental run has no stored cursor yet: it starts at SUPPORT_START_DATE.
    if before is None and plan.incremental:
        before = plan.window.start
    if before is not None:
        metadata["cursor_before"] = dg.MetadataValue.timestamp(before)
    if after is not None:
        metadata["cursor_after"] = dg.MetadataValue.timestamp(after)
    return metadata


def run_summary(
    connection: Connection,
    elapsed: float,
    description: str,
    before: Mapping[str, dt.datetime],
    after: Mapping[str, dt.datetime],
) -> str:
    """One line for the run log: what the API cost this run, and where the cursors went."""
    t = connection.telemetry
    records = sum(t.records.values())
    by_status = ", ".join(f"{cause}: {n}" for cause, n in sorted(t.retries_by_status.items()))
    per_resource = ", ".join(f"{name} {n}" for name, n in sorted(t.records.items()))
    rate = records / elapsed if elapsed > 0 else 0.0
    cursors = ", ".join(
        f"{name} {_ts(before.get(name))} -> {_ts(after.get(name))}"
        for name in sorted(set(before) | set(after))
    )
    return (
        f"Support API summary: {description}; {t.requests} HTTP requests, "
        f"{sum(t.pages.values())} pages, {records} records"
        f"{f' ({per_resource})' if per_resource else ''}, {t.retries} retries"
        f"{f' ({by_status})' if by_status else ''}, {t.rate_limited} rate-limited (429) "
        f"with {t.retry_after_wait_s:.1f} s waited on Retry-After, {t.token_grants} token "
        f"grants, {t.token_recoveries} token recoveries, {elapsed:.1f} s, {rate:.0f} records/s"
        f"; cursor {cursors or 'none'}."
    )


def _ts(value: dt.datetime | None) -> str:
    return format_ts(value) if value is not None else "none"


def _row_count(pipeline: Any, table: str) -> int:
    try:
        with pipeline.sql_client() as client:
            rows = client.execute_sql(
                f"select count(*) from {client.make_qualified_table_name(table)}"
            )
    except DatabaseUndefinedRelation:  # a first run that loaded nothing has no table yet
        return 0
    return int(rows[0][0]) if rows else 0
