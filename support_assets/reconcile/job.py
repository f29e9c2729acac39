"""`support_reconcile_job`: the reconcile as a Dagster run.

It shares the load's pool and guards: it writes the same warehouse, and DuckDB takes one
writer at a time.
"""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from support_assets.assets import POOL
from support_assets.pipeline.load import SupportLoad
from support_assets.reconcile.listing import list_tickets
from support_assets.reconcile.marks import Outcome, apply
from support_assets.reconcile.schedule import JOB
from support_assets.resources import SupportApiResource
from support_assets.settings import Settings
from support_assets.source.contract import COMMENTS_RESOURCE, TICKETS_RESOURCE


def build_reconcile_job(settings: Settings) -> dg.JobDefinition:
    """The job: one op that lists at the desk, then marks (or removes) in the warehouse."""

    @dg.op(name="support_reconcile", pool=POOL, out=dg.Out(dg.Nothing))
    def support_reconcile(
        context: dg.OpExecutionContext, support_api: SupportApiResource
    ) -> Iterator[Any]:
        """Mark (or remove) the warehouse rows of records the desk no longer has."""
        if settings.destination == "duckdb" and not Path(settings.duckdb_path).exists():
            context.log.info("Nothing loaded yet: no warehouse to reconcile.")
            return
        connection = support_api.connect(settings)
        # The desk first: a listing that fails has changed nothing.
        listing = list_tickets(settings, connection)
        context.log.info(
            f"{listing.listed}: {len(listing.ids)} {listing.kind} ticket ids "
            f"in {listing.requests} requests."
        )
        now = dt.datetime.now(dt.UTC)
        load = SupportLoad(
            settings, context.run.run_id, context.retry_number, connection.telemetry, context.log
        )
        with load:
            outcome = apply(load.pipeline, settings, listing, now)
        if outcome is None:
            context.log.info("No tickets table yet: nothing to reconcile.")
            return
        context.log.info(summary(settings, outcome))
        metadata = run_metadata(settings, listing.kind, listing.listed, listing.requests, outcome)
        if listing.kind == "live":
            metadata["vendor_count"] = dg.MetadataValue.int(len(listing.ids))
        for table in (TICKETS_RESOURCE, COMMENTS_RESOURCE):
            yield dg.AssetObservation(
                asset_key=table,
                metadata={
                    "rows_marked": outcome.marked[table],
                    "rows_unmarked": outcome.unmarked[table],
                    "rows_removed": outcome.removed[table],
                },
            )
        yield dg.Output(None, metadata=metadata)

    @dg.job(
        name=JOB,
        description="Find records the desk deleted and mark (or remove) their warehouse rows.",
        tags={"dagster/max_retries": str(settings.run_max_retries)},
    )
    def support_reconcile_job() -> None:
        support_reconcile()

    return support_reconcile_job


def run_metadata(
    settings: Settings, kind: str, listed: str, requests: int, outcome: Outcome
) -> dict[str, Any]:
    """The run's telemetry: what was asked, what changed, live rows against the desk."""
    return {
        "deletes": settings.deletes,
        "listing": f"{listed} ({kind})",
        "requests": dg.MetadataValue.int(requests),
        "rows_marked": dg.MetadataValue.json(outcome.marked),
        "rows_unmarked": dg.MetadataValue.json(outcome.unmarked),
        "rows_removed": dg.MetadataValue.json(outcome.removed),
        "live_rows": dg.MetadataValue.int(outcome.live_rows),
        "stored_rows": dg.MetadataValue.int(outcome.stored_rows),
    }


def summary(settings: Settings, outcome: Outcome) -> str:
    """One log line of what the reconcile did."""
    if settings.deletes == "remove":
        done = f"removed {outcome.removed[TICKETS_RESOURCE]} tickets and " + (
            f"{outcome.removed[COMMENTS_RESOURCE]} comments"
        )
    else:
        done = (
            f"marked {outcome.marked[TICKETS_RESOURCE]} tickets and "
            f"{outcome.marked[COMMENTS_RESOURCE]} comments deleted, unmarked "
            f"{outcome.unmarked[TICKETS_RESOURCE]} tickets that are back"
        )
    return f"Reconcile: {done}; {outcome.live_rows} live tickets of {outcome.stored_rows} stored."
