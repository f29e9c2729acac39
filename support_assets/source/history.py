"""Change history: every version of a record kept, with its validity range (dlt's `scd2`).

With `SUPPORT_HISTORY=scd2` each table keeps every version of a record it has read, in
`_dlt_valid_from` / `_dlt_valid_to` (NULL: the current version). A version is identified
by `_version_hash`, a hash of its content (stamped on the records by the customer-data
step, identical on the Arrow pages and the row path), so a record read again unchanged
(ties at the cursor, a full refresh) adds no version.

The validity range is on the loader's clock: dlt's boundary is the load package's
creation time, so "as of t" means what the warehouse held at t, the desk's state as of the
last refresh before it. The desk's own time of each change stays in the cursor column.

Incremental runs and backfills read only changed records: the primary key is also the
`merge_key`, so a record absent from the load keeps its current version. A full refresh
reads everything: the `merge_key` is switched off for that load, and dlt retires (closes
the range of) every current version the desk no longer serves, instead of deleting rows.
"""

from typing import Any

from dlt.extract.resource import DltResource

HISTORY_MODES = ("latest", "scd2")
# dlt's `row_version_column_name` under `scd2`: the content hash of a record's version.
VERSION_COLUMN = "_version_hash"
VALID_FROM = "_dlt_valid_from"
VALID_TO = "_dlt_valid_to"


def keep_history(resource: DltResource, primary_key: str, full_refresh: bool) -> None:
    """Make a resource's table an `scd2` table; a full refresh retires absent records."""
    disposition: Any = {
        "disposition": "merge",
        "strategy": "scd2",
        "row_version_column_name": VERSION_COLUMN,
    }
    # Set both ways on every run: dlt keeps a `merge_key` in the stored schema once seen.
    resource.apply_hints(
        write_disposition=disposition,
        columns={
            primary_key: {"merge_key": not full_refresh},
            VERSION_COLUMN: {"data_type": "text"},
        },
    )
