"""The warehouse side of change history (`SUPPORT_HISTORY=scd2`): one run's versions.

dlt's `scd2` merge inserts every version a load holds. A run that read a record twice
(updated while the run paged, so read before and after) would leave two current versions
of it, both valid from the load; the older one is closed here, at its own start: a range
of no length, never current "as of" any time, kept so no version the desk showed is lost.
And a record a run read twice unchanged (the offset pages overlap by one record, ties at
the cursor) is one version: dlt deduplicates only `delete-insert` staging, so the copies
are removed here.
"""

import dlt
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from support_assets.pipeline.warehouse import column_of
from support_assets.source.contract import ApiNames
from support_assets.source.history import VALID_FROM, VALID_TO, VERSION_COLUMN


def close_superseded_versions(pipeline: dlt.Pipeline, tables: list[str], api: ApiNames) -> int:
    """Close every current version that a newer current version of the same id follows.

    Newer is by the table's cursor (the desk's update time), then by version hash, so the
    choice is the same on every destination. Returns how many versions were closed.
    """
    closed = 0
    key = column_of(api.primary_key)
    with pipeline.sql_client() as client:
        for table in tables:
            name = client.make_qualified_table_name(table)
            cursor = client.escape_column_name(column_of(api.cursor_of(table)))
            pk = client.escape_column_name(key)
            version = client.escape_column_name(VERSION_COLUMN)
            valid_from = client.escape_column_name(VALID_FROM)
            valid_to = client.escape_column_name(VALID_TO)
            dlt_id = client.escape_column_name("_dlt_id")
            copies = (
                f"delete from {name} as o where o.{valid_to} is null and exists (select 1 "
                f"from {name} as n where n.{valid_to} is null and n.{pk} = o.{pk} and "
                f"n.{version} = o.{version} and n.{valid_from} = o.{valid_from} "
                f"and n.{dlt_id} < o.{dlt_id})"
            )
            sql = (
                f"update {name} as o set {valid_to} = o.{valid_from} "
                f"where o.{valid_to} is null and exists (select 1 from {name} as n "
                f"where n.{valid_to} is null and n.{pk} = o.{pk} and (n.{cursor} > o.{cursor} "
                f"or (n.{cursor} = o.{cursor} and n.{version} > o.{version}))) returning 1"
            )
            try:
                client.execute_sql(copies)
                closed += len(client.execute_sql(sql) or [])
            except DatabaseUndefinedRelation:  # a table this run created no rows in
                continue
    return closed
