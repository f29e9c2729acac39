"""Questions to the warehouse through dlt's SQL client: counts, cursors, what a load changed."""

import contextlib
import datetime as dt
from typing import Any

import dlt
from dlt.common.normalizers.naming.snake_case import NamingConvention
from dlt.common.pipeline import LoadInfo
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.destinations.sql_client import SqlClientBase

from support_assets.pipeline import support_pipeline
from support_assets.settings import Settings
from support_assets.source.contract import SOURCE_NAME, ApiNames
from support_assets.source.history import VALID_TO
from support_assets.source.timestamps import aware


def drop_unread_rows(pipeline: dlt.Pipeline, tables: list[str], since: str) -> int:
    """After a full refresh: delete the rows it did not write, in one statement per table.

    `since` is a dlt load id taken before the refresh's first slice (of its first attempt,
    when resumed): a merge gives every row it writes its load's id, so the rows with an
    older one are what the desk no longer serves (records it purged). Load ids are Unix
    times with ten integer digits, so they compare as strings on every destination.
    Readers never see an empty table or two rows for one id; between the merge and this
    delete they see the purged records a moment longer.
    """
    if not tables:
        return 0
    deleted = 0
    with pipeline.sql_client() as client:
        for table in tables:
            name = client.make_qualified_table_name(table)
            rows = client.execute_sql(
                f"delete from {name} where _dlt_load_id < %s returning 1", since
            )
            deleted += len(rows or [])
    return deleted


def column_of(field: str) -> str:
    """The warehouse column of a desk's field, in dlt's naming (`userUpdatedAt`).

    `user_updated_at`: the snake_case naming every destination's schema here uses.
    """
    return _NAMING.normalize_identifier(field)


def query_scalar(pipeline: dlt.Pipeline, sql: str) -> Any:
    """The single value of a query; None when its table does not exist (yet)."""
    try:
        with pipeline.sql_client() as client:
            return scalar_of(client, sql)
    except DatabaseUndefinedRelation:
        return None


def scalar_of(client: SqlClientBase[Any], sql: str) -> Any:
    """The single value of a query on an open client; None when its table does not exist."""
    try:
        rows = client.execute_sql(sql)
    except DatabaseUndefinedRelation:  # a first run that loaded nothing has no table yet
        return None
    return rows[0][0] if rows else None


def qualified(pipeline: dlt.Pipeline, table: str) -> str:
    """The destination's name for a dataset table."""
    with pipeline.sql_client() as client:
        return client.make_qualified_table_name(table)


def count_rows(
    pipeline: dlt.Pipeline, tables: list[str], current_only: bool = False
) -> dict[str, int]:
    """Rows in each dataset table (0 for one that does not exist yet), on one SQL client.

    `current_only` (history kept): the current versions, one per record the desk serves,
    which is what `dagster/row_count` means to a reader of the table; `versions` says the
    rest. A table kept before history was turned on has no ranges: every row counts.
    """
    counts: dict[str, int] = {}
    with pipeline.sql_client() as client:
        for table in tables:
            name = client.make_qualified_table_name(table)
            ranged = current_only and VALID_TO in (table_columns(client, name) or ())
            where = f" where {VALID_TO} is null" if ranged else ""
            counts[table] = int(scalar_of(client, f"select count(*) from {name}{where}") or 0)
    return counts


def table_columns(client: SqlClientBase[Any], name: str) -> set[str] | None:
    """A table's column names, None when it does not exist, without failing a statement."""
    try:
        with client.execute_query(f"select * from {name} where 1 = 0") as cursor:
            return {str(d[0]) for d in cursor.description}
    except DatabaseUndefinedRelation:
        return None


def stored_cursors(pipeline: dlt.Pipeline, api: ApiNames) -> dict[str, dt.datetime]:
    """Each resource's incremental cursor as the pipeline's dlt state holds it, by resource."""
    resources = pipeline.state.get("sources", {}).get(SOURCE_NAME, {}).get("resources", {})
    cursors: dict[str, dt.datetime] = {}
    for name, state in resources.items():
        value = state.get("incremental", {}).get(api.cursor_of(name), {}).get("last_value")
        if isinstance(value, dt.datetime | str):
            with contextlib.suppress(ValueError):  # telemetry never fails a load
                cursors[name] = aware(value)
    return cursors


_NAMING = NamingConvention()

# Metadata key: the columns a load added, by table.
SCHEMA_CHANGES = "schema_changes"


def schema_changes(pipeline: dlt.Pipeline) -> dict[str, list[str]]:
    """Columns the last load added, by table: what the UI shows when the API's shape moved."""
    trace = pipeline.last_trace
    load_info: LoadInfo | None = trace.last_load_info if trace else None
    changes: dict[str, list[str]] = {}
    for package in load_info.load_packages if load_info else []:
        for table, schema in (package.schema_update or {}).items():
            if not table.startswith("_dlt"):
                changes.setdefault(table, []).extend(sorted(schema.get("columns", {})))
    return changes


class Warehouse:
    """Read-only questions to the destination, through dlt's SQL client.

    Entered (`with`), every question goes through one client: opening one costs many
    times a small query (dlt resolves the destination's configuration again and DuckDB
    opens the file), and the checks ask about twenty questions per run. Outside `with`,
    each question opens its own.
    """

    def __init__(self, settings: Settings, working_dir: str) -> None:
        self.settings = settings
        self.pipeline = support_pipeline(settings, working_dir)
        self._client: SqlClientBase[Any] | None = None

    def __enter__(self) -> "Warehouse":
        # What `with client` does, spelled out: dlt types its `__exit__` without `None`s.
        self._client = self.pipeline.sql_client().__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        client, self._client = self._client, None
        if client is not None and client.owns_connection:
            client.close_connection()

    def scalar(self, sql: str) -> Any:
        """The single value of a query; None when the table does not exist yet."""
        if self._client is None:
            return query_scalar(self.pipeline, sql)
        return scalar_of(self._client, sql)

    def table(self, name: str) -> str:
        """The qualified name of a dataset table."""
        if self._client is None:
            return qualified(self.pipeline, name)
        return self._client.make_qualified_table_name(name)

    def has_column(self, table: str, column: str) -> bool:
        """Whether a dataset table has a column (information_schema: DuckDB and Postgres)."""
        found = self.scalar(
            "select count(*) from information_schema.columns where table_schema = "
            f"'{self.settings.dataset}' and table_name = '{table}' and column_name = '{column}'"
        )
        return bool(found)

    def rows(self, name: str, alias: str) -> str:
        """A data table's current rows, aliased: with history kept, its current versions."""
        table = self.table(name)
        if self.settings.history == "scd2":
            return f"(select * from {table} where {VALID_TO} is null) as {alias}"
        return f"{table} as {alias}"
