"""`support_erasure_job`: honour an erasure request by removing one requester's rows.

It removes the requester's tickets and those tickets' comments, every version of them when
change history is on, in one transaction through dlt's SQL client (DuckDB or Postgres).
Comments the person wrote on other people's tickets stay: they are part of another
customer's conversation, and the desks name a comment's author in fields of their own;
hash or exclude the comment bodies (SUPPORT_HASH_COLUMNS, SUPPORT_EXCLUDE_COLUMNS) to keep
them free of personal data. The desk must erase the person first: a later full refresh
reads whatever the desk still serves.

It runs in the loads' pool and behind the same destination-lock guard, so it never writes
while a load does.
"""

import shutil
from pathlib import Path
from typing import Any

import dagster as dg
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from pydantic import Field

from support_assets.assets import POOL
from support_assets.pipeline import run_working_dir, support_pipeline
from support_assets.pipeline.guards import destination_lock_explained
from support_assets.pipeline.warehouse import column_of
from support_assets.resources import SupportApiResource
from support_assets.settings import Settings
from support_assets.source.contract import COMMENTS_RESOURCE, TICKETS_RESOURCE, ApiNames
from support_assets.source.privacy import keyed_hash

# Metadata key: rows removed, by table.
ROWS_REMOVED = "rows_removed"


class ErasureConfig(dg.Config):
    """Run config of `support_erasure_job`."""

    requester_id: str = Field(
        description=(
            "The desk's id of the customer whose tickets (and their comments) to remove, as "
            "the desk shows it; hashed first when SUPPORT_HASH_COLUMNS hashes the requester."
        )
    )


def requester_match(api: ApiNames, destination: str, quote: Any) -> str:
    """A SQL condition on the tickets table: the requester field equals the `%s` parameter.

    A dotted field (`primaryCustomer.id`) is a JSON column and a path inside it, read with
    the destination's own JSON operator; compared as text, so numbers and hashes both match.
    """
    head, *rest = api.requester_field.split(".")
    column = quote(column_of(head))
    if not rest:
        return f"cast({column} as varchar) = %s"
    if destination == "duckdb":
        return f"json_extract_string({column}, '$.{'.'.join(rest)}') = %s"
    if destination == "postgres":
        return f"({column} #>> '{{{','.join(rest)}}}') = %s"
    raise ValueError(
        f"SUPPORT_REQUESTER_FIELD={api.requester_field} is a path into a JSON column, which "
        f"the erasure job reads on DuckDB and Postgres only (SUPPORT_DESTINATION="
        f"{destination}); delete the rows with the destination's own JSON functions."
    )


def erase_requester(settings: Settings, working_dir: Path, requester: str) -> dict[str, int]:
    """Delete the requester's tickets (every version) and their comments; rows by table."""
    api = settings.api
    if settings.destination == "duckdb" and not Path(settings.duckdb_path).exists():
        return {TICKETS_RESOURCE: 0, COMMENTS_RESOURCE: 0}  # nothing loaded yet
    pipeline = support_pipeline(settings, working_dir)
    removed = {TICKETS_RESOURCE: 0, COMMENTS_RESOURCE: 0}
    with pipeline.sql_client() as client:
        tickets = client.make_qualified_table_name(TICKETS_RESOURCE)
        comments = client.make_qualified_table_name(COMMENTS_RESOURCE)
        match = requester_match(api, settings.destination, client.escape_column_name)
        pk = client.escape_column_name(column_of(api.primary_key))
        ticket_key = client.escape_column_name(column_of(api.ticket_key))
        theirs = f"select {pk} from {tickets} where {match}"
        with client.begin_transaction():
            try:
                rows = client.execute_sql(
                    f"delete from {comments} where {ticket_key} in ({theirs}) returning 1",
                    requester,
                )
                removed[COMMENTS_RESOURCE] = len(rows or [])
            except DatabaseUndefinedRelation:
                pass  # no comments table yet
            try:
                rows = client.execute_sql(
                    f"delete from {tickets} where {pk} in ({theirs}) returning 1", requester
                )
                removed[TICKETS_RESOURCE] = len(rows or [])
            except DatabaseUndefinedRelation:
                pass
    return removed


def support_erasure_job(settings: Settings) -> dg.JobDefinition:
    """The erasure job, for these settings (which field holds the requester, the hashing)."""

    @dg.op(pool=POOL)
    def support_erasure(
        context: dg.OpExecutionContext, config: ErasureConfig, support_api: SupportApiResource
    ) -> dg.Output[dict[str, int]]:
        """Remove one requester's tickets and their comments, every version of them."""
        requester = config.requester_id.strip()
        if not requester:
            raise dg.Failure("requester_id is empty: give the desk's id of the customer.")
        customer_data = support_api.customer_data(settings)
        if customer_data.hashes_requester(settings.api):
            requester = str(keyed_hash(support_api.hash_salt, requester))
        working_dir = run_working_dir(settings, context.run.run_id)
        try:
            with destination_lock_explained(settings, context.retry_number):
                removed = erase_requester(settings, working_dir, requester)
        finally:
            shutil.rmtree(working_dir, ignore_errors=True)
        # Counts only: the id itself is personal data and stays out of logs and metadata.
        context.log.info(
            "Erasure: removed "
            + ", ".join(f"{rows} rows of {table}" for table, rows in removed.items())
        )
        for table, rows in removed.items():
            context.log_event(dg.AssetObservation(asset_key=table, metadata={"erased_rows": rows}))
        return dg.Output(removed, metadata={ROWS_REMOVED: dg.MetadataValue.json(removed)})

    @dg.job(
        name="support_erasure_job",
        description="Remove one requester's tickets and their comments (erasure requests).",
    )
    def erasure_job() -> None:
        support_erasure()

    return erasure_job
