"""The warehouse side of the reconcile: `_deleted_at` on gone tickets and their comments.

Through dlt's SQL client, as every other warehouse query here, so the same statements run on
DuckDB and Postgres. `_deleted_at` is outside dlt's schema on purpose: dlt's merge
(delete-insert) inserts only the schema's columns, so a re-merged row, a record that came
back, has it NULL again without the load knowing of it.
"""

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import dlt
from dlt.destinations.sql_client import SqlClientBase

from support_assets.pipeline.warehouse import column_of, table_columns
from support_assets.reconcile.listing import Listing, record_key
from support_assets.settings import Settings
from support_assets.source.contract import COMMENTS_RESOURCE, TICKETS_RESOURCE

DELETED_AT = "_deleted_at"
# scd2 tables keep a row per version; marking the latest one is another design.
HISTORY_COLUMNS = ("_dlt_valid_from", "_dlt_valid_to")
_TS = "timestamp with time zone"
_CHUNK = 500  # ids per statement: far under every destination's parameter limit


class HistoryKept(RuntimeError):
    """The tables keep every version (dlt's scd2): the reconcile marks latest-only tables."""


class EmptyListing(RuntimeError):
    """A listing of every ticket that found none: a setting is wrong, not every ticket gone."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one reconcile changed, by table; `live_rows` counts unmarked tickets after it."""

    marked: dict[str, int]
    unmarked: dict[str, int]
    removed: dict[str, int]
    live_rows: int
    stored_rows: int


def apply(
    pipeline: dlt.Pipeline, settings: Settings, listing: Listing, now: dt.datetime
) -> Outcome | None:
    """Mark (SUPPORT_DELETES=mark) or remove (`remove`) what the listing says is gone.

    One transaction: readers see all of it or none. None when no tickets table exists yet.
    """
    pk = column_of(settings.api.primary_key)
    key = column_of(settings.api.ticket_key)
    with pipeline.sql_client() as client:
        tickets = client.make_qualified_table_name(TICKETS_RESOURCE)
        comments = client.make_qualified_table_name(COMMENTS_RESOURCE)
        ticket_columns = table_columns(client, tickets)
        if ticket_columns is None:
            return None
        comment_columns = table_columns(client, comments)
        _refuse_history(ticket_columns | (comment_columns or set()))
        rows = client.execute_sql(f"select {pk}, {_marked(ticket_columns)} from {tickets}") or []
        # By the id's text, to compare with the listing; the statements get the stored value.
        stored = {record_key(ident): marked for ident, marked in rows}
        as_stored = {record_key(ident): ident for ident, _ in rows}
        if listing.kind == "live" and stored and not listing.ids:
            raise EmptyListing(
                f"{listing.listed} listed no ticket while the warehouse holds {len(stored)}: "
                "refusing to mark them all. Nothing was changed; check SUPPORT_TICKETS_PATH, "
                "SUPPORT_TICKETS_PARAMS and SUPPORT_START_DATE."
            )
        keys = _changes(stored, listing)
        changes = Changes([as_stored[k] for k in keys.gone], [as_stored[k] for k in keys.back])
        empty: dict[str, int] = {TICKETS_RESOURCE: 0, COMMENTS_RESOURCE: 0}
        marked, unmarked, removed = dict(empty), dict(empty), dict(empty)
        with client.begin_transaction():
            for table, columns in ((tickets, ticket_columns), (comments, comment_columns)):
                if columns is not None and DELETED_AT not in columns:
                    client.execute_sql(f"alter table {table} add column {DELETED_AT} {_TS}")
            targets = [(TICKETS_RESOURCE, tickets, pk)]
            if comment_columns is not None:  # a comment follows its ticket
                targets.append((COMMENTS_RESOURCE, comments, key))
            for name, table, column in targets:
                if settings.deletes == "remove":
                    removed[name] = _each(client, f"delete from {table}", column, changes.gone)
                    continue
                mark = f"update {table} set {DELETED_AT} = %s"
                marked[name] = _each(client, mark, column, changes.gone, now, unmarked=True)
                unmark = f"update {table} set {DELETED_AT} = null"
                unmarked[name] = _each(client, unmark, column, changes.back, unmarked=False)
        live = client.execute_sql(f"select count(*) from {tickets} where {DELETED_AT} is null")
    stored_rows = len(stored) - removed[TICKETS_RESOURCE]
    return Outcome(marked, unmarked, removed, int(live[0][0]) if live else 0, stored_rows)


def unmark_comments_of_live_tickets(pipeline: dlt.Pipeline, settings: Settings) -> int:
    """After a load: comments marked with their ticket are unmarked when the ticket is back.

    The merge unmarks the rows it writes; a restored ticket's comments are written again
    only where the desk serves them again with it (per ticket, embedded), not from an
    event stream that has nothing new for them. Returns the comments unmarked.
    """
    pk = column_of(settings.api.primary_key)
    key = column_of(settings.api.ticket_key)
    with pipeline.sql_client() as client:
        tickets = client.make_qualified_table_name(TICKETS_RESOURCE)
        comments = client.make_qualified_table_name(COMMENTS_RESOURCE)
        if any(DELETED_AT not in (table_columns(client, t) or ()) for t in (tickets, comments)):
            return 0  # never reconciled: nothing is marked
        rows = client.execute_sql(
            f"update {comments} set {DELETED_AT} = null where {DELETED_AT} is not null and "
            f"{key} in (select {pk} from {tickets} where {DELETED_AT} is null) returning 1"
        )
    return len(rows or [])


@dataclasses.dataclass(frozen=True)
class Changes:
    """Stored ticket ids the desk no longer has (marked already or not), and ones it has again."""

    gone: list[Any]
    back: list[Any]


def _changes(stored: dict[str, bool], listing: Listing) -> Changes:
    """What the listing says of the stored tickets (`stored`: id -> marked already)."""
    if listing.kind == "live":
        gone = [i for i in stored if i not in listing.ids]
        back = [i for i, marked in stored.items() if marked and i in listing.ids]
        return Changes(gone, back)
    # A trash listing knows nothing of restores (a ticket out of the trash may as well have
    # been purged); a restore updates the ticket, so the refresh's merge unmarks it. What
    # is marked and no longer in the trash stays marked.
    gone = [i for i in stored if i in listing.ids]
    return Changes(sorted(set(gone) | {i for i, marked in stored.items() if marked}), [])


def _each(
    client: SqlClientBase[Any],
    statement: str,
    column: str,
    ids: Sequence[Any],
    *args: object,
    unmarked: bool | None = None,
) -> int:
    """Run `statement` on the rows whose `column` is in `ids` (only unmarked / marked ones).

    Returns the rows it changed. Marking again keeps the first `_deleted_at`.
    """
    guard = {None: "", True: f" and {DELETED_AT} is null", False: f" and {DELETED_AT} is not null"}
    done = 0
    for chunk in _chunks(ids):
        marks = ", ".join(["%s"] * len(chunk))
        rows = client.execute_sql(
            f"{statement} where {column} in ({marks}){guard[unmarked]} returning 1", *args, *chunk
        )
        done += len(rows or [])
    return done


def _chunks(ids: Sequence[Any]) -> Iterable[Sequence[Any]]:
    return (ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK))


def _marked(columns: set[str]) -> str:
    return f"{DELETED_AT} is not null" if DELETED_AT in columns else "false"


def _refuse_history(columns: set[str]) -> None:
    kept = sorted(set(HISTORY_COLUMNS) & columns)
    if kept:
        raise HistoryKept(
            f"the support tables keep every version of a record ({', '.join(kept)}: dlt's "
            "scd2 merge, SUPPORT_HISTORY=scd2): the reconcile marks or removes rows of "
            "latest-only tables and would corrupt a history. Nothing was changed; run it "
            "with the default history (latest), or close the gone records' versions with "
            "a full refresh (support_full_refresh_job)."
        )
