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

import datetime as dt
from typing import Any

import dlt
import orjson
import pyarrow as pa
from dlt.common.schema.detections import is_iso_timestamp
from dlt.extract.items_transform import ItemTransform
from dlt.extract.resource import DltResource

from support_assets.source.errors import UnloadableValue
from support_assets.source.session import describe
from support_assets.source.telemetry import Telemetry
from support_assets.source.timestamps import cursor_instant

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


class ColumnMismatch(ValueError):
    """A batch's values do not fit a column's type; the batch goes on as dicts."""


_CURSOR_FORMS = {
    "rfc3339": "RFC 3339 strings such as 2024-05-01T12:00:00Z",
    "epoch": "Unix seconds such as 1714564800",
}

# dlt's name for the variant column that holds a field's values of another type.
VARIANT_JSON = "__v_json"


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
        cursor_format: str = "rfc3339",
        renamed: dict[str, str] | None = None,
    ) -> None:
        super().__init__(lambda item: item)
        self.arrow = arrow
        self.resource = resource
        self.cursor_field = cursor_field
        self.primary_key = primary_key
        self.telemetry = telemetry
        self.batch_rows = batch_rows
        self.cursor_format = cursor_format
        # Fields taken under another name (the parent's id, added by dlt to a child record),
        # unless the record already has that name.
        self.renamed = renamed or {}
        self.json_columns: set[str] = set()
        self._records: list[dict[str, Any]] = []
        self._pages = 0
        # (index of the page's first record in the batch, its request), to name a page.
        self._page_starts: list[tuple[int, Any]] = []
        self._batch: list[dict[str, Any]] = []
        self._batch_pages: list[tuple[int, Any]] = []

    def __call__(self, item: Any, meta: Any = None) -> Any:
        """Collect pages into a batch; pass the batch on when full or when paging ends."""
        if not isinstance(item, list):
            return item
        if item:  # an empty page (the end of paging) holds no record and is no page of data
            response = getattr(item, "response", None)
            self._page_starts.append((len(self._records), getattr(response, "request", None)))
            self._pages += 1
        if self.renamed:
            item = [self._rename(record) for record in item]
        self._records.extend(item)
        # The page carries its paginator (dlt's PageData), which has already decided
        # whether another page follows; anything else is passed on at once.
        paginator = getattr(item, "paginator", None)
        more = paginator is not None and paginator.has_next_page
        if more and len(self._records) < self.batch_rows:
            return None  # dlt passes nothing on; the next pages join this batch
        records, pages = self._records, self._pages
        # Kept until the next batch, so an error can name a record's id and page.
        self._batch, self._batch_pages = records, self._page_starts
        self._records, self._pages, self._page_starts = [], 0, []
        if not records:
            return None
        known = self._known_columns()
        if not self.arrow:
            return self._row_path(records, known)
        try:
            return self._to_arrow(records, known)
        except (ColumnMismatch, pa.ArrowException):
            self.telemetry.count_row_path_pages(self.resource.name, pages)
            return self._row_path(records, known)

    def _rename(self, record: dict[str, Any]) -> dict[str, Any]:
        for old, new in self.renamed.items():
            if old in record:
                value = record.pop(old)
                record.setdefault(new, value)
        return record

    def _row_path(self, records: list[dict[str, Any]], known: dict[str, str]) -> list[Any]:
        """The batch as dicts for dlt's row path, with what dlt would get silently wrong fixed.

        dlt's row path turns an object or a list arriving in a text (or number) column into
        JSON text inside that column: a type change nobody sees. Such values go to the
        field's JSON variant column instead (`via__v_json`), as other type changes do, so
        the load warns and the materialization lists the new column.
        """
        moved = [name for name, kind in known.items() if kind != "json"]
        rows = []
        for index, record in enumerate(records):
            record = self._with_parsed_cursor(record, index)
            for name in moved:
                if isinstance(record.get(name), dict | list):
                    record = {**record, name + VARIANT_JSON: record[name]}
                    del record[name]
            rows.append(record)
        return rows

    # --- naming a record --------------------------------------------------------------

    def _where(self, index: int) -> str:
        """`record id 17 on the page GET /v1/tickets?offset=100&...`, for a batch index."""
        if index < 0:
            return "a record"
        request = None
        for start, page_request in self._batch_pages:
            if start > index:
                break
            request = page_request
        page = f"the page {describe(request)}" if request is not None else "an unknown page"
        return f"record {self.primary_key} {self._batch[index].get(self.primary_key)!r} on {page}"

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
            try:
                if name == self.cursor_field and self.cursor_format == "epoch":
                    arrays[name] = _epoch_array(name, values)
                    continue
                arrays[name] = _array(name, values, kind)
            except orjson.JSONEncodeError as exc:
                raise self._unserializable(name, values, exc) from None
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

    def _unserializable(self, name: str, values: list[Any], exc: Exception) -> UnloadableValue:
        index = 0
        for index, value in enumerate(values):  # noqa: B007 - the failing one is wanted
            try:
                orjson.dumps(value)
            except orjson.JSONEncodeError:
                break
        return UnloadableValue(
            f"{self.resource.name}: field {name!r} of {self._where(index)} cannot be "
            f"stored as JSON ({exc}): the loader accepts objects and lists nested at most "
            "254 levels deep. Nothing from this run was loaded and the cursor did not move; "
            "ask the vendor."
        )

    def _with_parsed_cursor(self, record: dict[str, Any], index: int = -1) -> dict[str, Any]:
        """The cursor as a datetime, comparable with the Arrow pages' cursor values.

        A cursor that is not an RFC 3339 string fails here, naming the record: dlt's
        incremental step would compare it with datetimes and fail with a bare TypeError.
        """
        value = record.get(self.cursor_field)
        if value is None:
            return record  # dlt's incremental step reports it (on_cursor_value_missing)
        if isinstance(value, dt.datetime):
            return record
        try:
            return {**record, self.cursor_field: cursor_instant(value, self.cursor_format)}
        except ValueError:
            pass
        where = self._where(index)
        raise UnloadableValue(
            f"{self.resource.name}: field {self.cursor_field!r} (SUPPORT_CURSOR_FIELD) of "
            f"{where} is {value!r}, which is not a timestamp: the loader accepts "
            f"{_CURSOR_FORMS[self.cursor_format]} (SUPPORT_CURSOR_FORMAT={self.cursor_format}). "
            "Nothing from this run was loaded and the cursor did not move; ask the vendor, or "
            "point SUPPORT_CURSOR_FIELD at the field that holds the update time."
        )


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


def _epoch_array(name: str, values: list[Any]) -> pa.Array:
    """Unix seconds (Zendesk's `generated_timestamp`) as the cursor's timestamp column."""
    if not all(type(v) is int for v in values):
        raise ColumnMismatch(name)  # the row path parses what it can and names the rest
    return pa.array(values, pa.int64()).cast(pa.timestamp("s", tz="UTC")).cast(TIMESTAMP)


def _looks_like_timestamp(array: pa.Array) -> bool:
    first = next((v for v in array.drop_null().slice(0, 1).to_pylist()), None)
    return first is not None and is_iso_timestamp(str, first) is not None
