"""Pages as Arrow tables: the records go to the warehouse without dlt's per-row Python.

dlt normalizes a list of dicts row by row (naming, nesting, type coercion), which at
600,000 records costs more than fetching them. An Arrow table is written to Parquet at
extract, passes normalize as a file and is bulk-loaded, so pages are converted once
here, in batches, column by column, with the types the table's schema already has.

Nothing the per-row path would have kept is lost: a batch of pages whose values do not
fit the column types known so far (a field that changed type, a timestamp that does not
parse) is passed on as dicts, and dlt gives it the variant columns it always did. Both
kinds of batch land in the same table with the same columns, because nested values are
JSON in both: the source has `max_table_nesting=0`, and here objects and lists become JSON
text in a column hinted `json`.
"""

import logging
from typing import Any

import dlt
import orjson
import pyarrow as pa
from dlt.common.schema.detections import is_iso_timestamp
from dlt.extract.items_transform import ItemTransform
from dlt.extract.resource import DltResource

from support_assets.http import Telemetry
from support_assets.paginator import parse_ts

TIMESTAMP = pa.timestamp("us", tz="UTC")
# dlt column types with one obvious Arrow type; any other known type sends the page on as
# dicts, where dlt's own coercion applies.
_ARROW_TYPES: dict[str, pa.DataType] = {
    "bigint": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "text": pa.string(),
}


# Pages are passed to dlt in batches of about this many records: dlt's work per item
# (schema computation and validation, a Parquet write) costs as much for 100 rows as for
# 5,000, while the batch's memory stays small and bounded.
BATCH_ROWS = 5_000


class _JsonAsTextNotice(logging.Filter):
    """Drop dlt's per-batch warning that a column hinted `json` arrived as Arrow text.

    That is this module's design (JSON text into a JSON column, which every destination
    parses on load), not drift; left alone, the warning would repeat once per batch. dlt
    still logs which hints differed at INFO.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "when merging arrow schema with dlt schema" not in record.getMessage()


logging.getLogger("dlt").addFilter(_JsonAsTextNotice())


class ColumnMismatch(ValueError):
    """A batch's values do not fit a column's type; the batch goes on as dicts."""


class ArrowPages(ItemTransform[Any, Any]):
    """A pipe step that turns pages (lists of dicts) into Arrow tables, in batches.

    With `arrow` off (SUPPORT_ARROW_PAGES=false) pages stay dicts, with the cursor parsed
    all the same: the incremental bounds are datetimes either way.

    It sits right after the paginator, before dlt's incremental step, which then filters
    and tracks the cursor with Arrow compute instead of a loop over rows.
    """

    def __init__(
        self,
        resource: DltResource,
        cursor_field: str,
        telemetry: Telemetry,
        arrow: bool = True,
        primary_key: str = "id",
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        super().__init__(lambda item: item)
        self.arrow = arrow
        self.resource = resource
        self.cursor_field = cursor_field
        self.primary_key = primary_key
        self.telemetry = telemetry
        self.batch_rows = batch_rows
        self.json_columns: set[str] = set()
        self._records: list[dict[str, Any]] = []
        self._pages = 0

    def __call__(self, item: Any, meta: Any = None) -> Any:
        """Collect pages into a batch; pass the batch on when full or when paging ends."""
        if not isinstance(item, list):
            return item
        self._records.extend(item)
        self._pages += 1
        # The page carries its paginator (dlt's PageData), which has already decided
        # whether another page follows; anything else is passed on at once.
        paginator = getattr(item, "paginator", None)
        more = paginator is not None and paginator.has_next_page
        if more and len(self._records) < self.batch_rows:
            return None  # dlt passes nothing on; the next pages join this batch
        records, pages = self._records, self._pages
        self._records, self._pages = [], 0
        if not records:
            return None
        if not self.arrow:
            return [self._with_parsed_cursor(record) for record in records]
        try:
            return self._to_arrow(records, self._known_columns())
        except (ColumnMismatch, pa.ArrowException):
            self.telemetry.count_row_path_pages(self.resource.name, pages)
            return [self._with_parsed_cursor(record) for record in records]

    # --- conversion ---------------------------------------------------------------------

    def _known_columns(self) -> dict[str, str]:
        """The table's column types as dlt knows them now (hints and earlier pages)."""
        columns = dict(self.resource.columns) if isinstance(self.resource.columns, dict) else {}
        known = {name: str(c.get("data_type")) for name, c in columns.items() if c.get("data_type")}
        try:
            schema = dlt.current.source_schema()
        except Exception:  # outside an extract (a unit test): the hints are all there is
            return known
        if self.resource.table_name in schema.tables:
            for name, column in schema.get_table_columns(str(self.resource.table_name)).items():
                if data_type := column.get("data_type"):
                    known.setdefault(name, str(data_type))
        return known

    def _to_arrow(self, records: list[dict[str, Any]], known: dict[str, str]) -> Any:
        names = dict.fromkeys(key for record in records for key in record)
        arrays: dict[str, pa.Array] = {}
        new_json: set[str] = set()
        for name in names:
            values = [record.get(name) for record in records]
            kind = known.get(name)
            if kind is None:
                if any(isinstance(v, dict | list) for v in values):
                    kind = "json"
                    new_json.add(name)
                elif all(v is None for v in values):
                    continue  # dlt creates no column for a field that has only been null
            arrays[name] = _array(name, values, kind)
        table = pa.table(arrays)
        if self.primary_key in arrays:
            # Matches dlt's own hint on a primary key, so the schemas merge without notice.
            index = table.schema.get_field_index(self.primary_key)
            table = table.cast(table.schema.set(index, table.field(index).with_nullable(False)))
        fresh = new_json - self.json_columns
        if not fresh:
            return table
        # A field first seen holding objects or lists: a JSON column, as the row path makes
        # it. The hint rides with the page, so dlt applies it to the resource it extracts.
        self.json_columns |= fresh
        hints = dlt.mark.make_hints(
            columns=[{"name": name, "data_type": "json"} for name in sorted(fresh)]
        )
        return dlt.mark.with_hints(table, hints)

    def _with_parsed_cursor(self, record: dict[str, Any]) -> dict[str, Any]:
        """The cursor as a datetime, comparable with the Arrow pages' cursor values."""
        value = record.get(self.cursor_field)
        if isinstance(value, str):
            try:
                return {**record, self.cursor_field: parse_ts(value)}
            except ValueError:
                return record  # dlt's incremental step reports it
        return record


def _array(name: str, values: list[Any], kind: str | None) -> pa.Array:
    """One column, as the row path would type it, or `ColumnMismatch` if it would not fit.

    Arrow infers from the values first (in C, and never silently: an explicit `int64`
    would truncate 1.5 to 1), then the inferred type must fit the column's known type.
    """
    if kind == "json":
        return pa.array(
            [None if v is None else orjson.dumps(v).decode() for v in values], pa.string()
        )
    array = pa.array(values)  # mixed types raise ArrowInvalid: the row path's variants
    inferred = array.type
    if pa.types.is_null(inferred):
        target = TIMESTAMP if kind == "timestamp" else _ARROW_TYPES.get(kind or "")
        if target is None:
            raise ColumnMismatch(name)
        return pa.nulls(len(values), target)
    if kind is None:
        if pa.types.is_nested(inferred):
            raise ColumnMismatch(name)
        if pa.types.is_string(inferred) and _looks_like_timestamp(array):
            # dlt types a new text field by its first value, ISO timestamps included.
            return array.cast(TIMESTAMP)
        return array
    if kind == "timestamp" and pa.types.is_string(inferred):
        return array.cast(TIMESTAMP)  # one that does not parse raises: the row path
    if kind == "double" and (pa.types.is_floating(inferred) or pa.types.is_integer(inferred)):
        return array.cast(pa.float64())
    if _ARROW_TYPES.get(kind) == inferred:
        return array
    raise ColumnMismatch(name)


def _looks_like_timestamp(array: pa.Array) -> bool:
    first = next((v for v in array.drop_null().slice(0, 1).to_pylist()), None)
    return first is not None and is_iso_timestamp(str, first) is not None
