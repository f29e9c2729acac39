"""Asset checks: what a data engineer would look at before trusting the tables."""

import dataclasses
import datetime as dt
import tempfile
from collections.abc import Iterator
from typing import Any

import dagster as dg

from support_assets.pipeline.warehouse import Warehouse, column_of
from support_assets.reconcile.marks import DELETED_AT
from support_assets.resources import SupportApiResource
from support_assets.settings import Settings
from support_assets.source.connection import Connection
from support_assets.source.contract import COMMENTS_RESOURCE, TICKETS_RESOURCE
from support_assets.source.paginators.offset import total_at
from support_assets.source.timestamps import aware, format_ts

TABLES = (TICKETS_RESOURCE, COMMENTS_RESOURCE)


@dataclasses.dataclass(frozen=True)
class ApiTotals:
    """The API's side of one table's reconciliation; `now` None when it cannot be had."""

    now: int | None
    # Records updated before `newest`, the newest loaded update's second: the loaded window.
    loaded: int | None = None
    newest: dt.datetime | None = None
    reason: str = ""


def _specs() -> list[dg.AssetCheckSpec]:
    specs = []
    for table in TABLES:
        specs += [
            dg.AssetCheckSpec("id_is_unique", asset=table, description="No id appears twice."),
            dg.AssetCheckSpec(
                "is_fresh",
                asset=table,
                description="The last load and the newest updated_at are recent enough.",
            ),
            dg.AssetCheckSpec(
                "matches_api_total",
                asset=table,
                description=(
                    "As many live rows (not marked deleted) as the API's total since "
                    "SUPPORT_START_DATE, within the loaded window (not checkable when the "
                    "API sends no total)."
                ),
            ),
        ]
    specs.append(
        dg.AssetCheckSpec(
            "ticket_exists",
            asset=COMMENTS_RESOURCE,
            additional_deps=[TICKETS_RESOURCE],
            description="Every comment's ticket is in support_tickets (warning only).",
        )
    )
    return specs


def build_checks(settings: Settings) -> list[dg.AssetChecksDefinition]:
    """One multi-check op, so each run opens the warehouse and the API once."""

    @dg.multi_asset_check(specs=_specs(), can_subset=True, name="support_checks")
    def support_checks(
        context: dg.AssetCheckExecutionContext, support_api: SupportApiResource
    ) -> Iterator[dg.AssetCheckResult]:
        """Uniqueness, referential integrity, freshness and reconciliation with the API."""
        selected = {(k.asset_key.path[-1], k.name) for k in context.selected_asset_check_keys}
        # dlt keeps a pipeline's local state on disk even for reads: a place of this
        # check run's own, gone when it ends (a folder per run would pile up forever).
        with tempfile.TemporaryDirectory(prefix="support_checks_") as working_dir:
            warehouse = Warehouse(settings, working_dir)
            api_totals: dict[str, ApiTotals] = {}
            if any(name == "matches_api_total" for _, name in selected):
                api_totals = fetch_api_totals(support_api, settings, warehouse)
            # One SQL client for every check, opened after the API's answers: DuckDB's file
            # stays locked while it is open, and a desk's latency need not hold it.
            with warehouse:
                for table, name in sorted(selected):
                    check = CHECKS[name]
                    yield check(warehouse, settings, table, api_totals)

    return [support_checks]


def _id_is_unique(
    warehouse: Warehouse, settings: Settings, table: str, _: dict[str, ApiTotals]
) -> dg.AssetCheckResult:
    pk = column_of(settings.api.primary_key)
    duplicates = warehouse.scalar(
        f"select count(*) - count(distinct {pk}) from {warehouse.rows(table, 'r')}"
    )
    return dg.AssetCheckResult(
        asset_key=table,
        check_name="id_is_unique",
        passed=duplicates in (0, None),
        metadata={"duplicate_rows": int(duplicates or 0)},
    )


def _ticket_exists(
    warehouse: Warehouse, settings: Settings, table: str, _: dict[str, ApiTotals]
) -> dg.AssetCheckResult:
    orphans = warehouse.scalar(
        f"select count(*) from {warehouse.rows(COMMENTS_RESOURCE, 'c')} "
        f"where not exists (select 1 from {warehouse.rows(TICKETS_RESOURCE, 't')} "
        f"where t.{column_of(settings.api.primary_key)} = c.{column_of(settings.api.ticket_key)})"
    )
    if orphans is None:  # no tickets table yet: every loaded comment lacks its ticket
        orphans = warehouse.scalar(f"select count(*) from {warehouse.rows(COMMENTS_RESOURCE, 'c')}")
    return dg.AssetCheckResult(
        asset_key=table,
        check_name="ticket_exists",
        passed=orphans in (0, None),
        # A comment can arrive before its ticket's partition is loaded: worth a look,
        # not a stop.
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"comments_without_ticket": int(orphans or 0)},
    )


def _is_fresh(
    warehouse: Warehouse, settings: Settings, table: str, _: dict[str, ApiTotals]
) -> dg.AssetCheckResult:
    now = dt.datetime.now(dt.UTC)
    last_load = warehouse.scalar(
        f"select max(inserted_at) from {warehouse.table('_dlt_loads')} where status = 0"
    )
    newest = warehouse.scalar(
        f"select max({column_of(settings.api.cursor_of(table))}) from {warehouse.rows(table, 'r')}"
    )
    load_age = _hours_since(last_load, now)
    data_age = _hours_since(newest, now)
    passed = (
        load_age is not None
        and data_age is not None
        and load_age <= settings.max_load_age_hours
        and data_age <= settings.max_data_age_hours
    )
    return dg.AssetCheckResult(
        asset_key=table,
        check_name="is_fresh",
        passed=passed,
        metadata={
            "hours_since_last_load": round(load_age, 2) if load_age is not None else -1.0,
            "hours_since_newest_update": round(data_age, 2) if data_age is not None else -1.0,
            "max_load_age_hours": settings.max_load_age_hours,
            "max_data_age_hours": settings.max_data_age_hours,
        },
    )


def _matches_api_total(
    warehouse: Warehouse, settings: Settings, table: str, api_totals: dict[str, ApiTotals]
) -> dg.AssetCheckResult:
    """Reconcile with the API without failing on a desk that kept working after the load.

    After the load, records created at the vendor raise its total, and records updated
    move past the newest loaded update: so the rows must not outnumber the API's total now
    (more would be records purged at the vendor), and the rows before the newest loaded
    second must not be fewer than the API's records before it (fewer would be records
    lost). On a desk that stood still both are equalities.
    """
    totals = api_totals[table]
    pk = column_of(settings.api.primary_key)
    name = warehouse.rows(table, "r")
    # Rows the reconcile marked deleted are not the desk's any more (support_reconcile_job).
    live = f" where {DELETED_AT} is null" if warehouse.has_column(table, DELETED_AT) else ""
    rows = int(warehouse.scalar(f"select count(distinct {pk}) from {name}{live}") or 0)
    if totals.now is None:
        return dg.AssetCheckResult(
            asset_key=table,
            check_name="matches_api_total",
            passed=True,
            description=f"Not checkable: {totals.reason}.",
            metadata={"checkable": False, "warehouse_rows": rows, "reason": totals.reason},
        )
    loaded_rows = rows
    if totals.newest is not None:
        cursor = column_of(settings.api.cursor_of(table))
        loaded_rows = int(
            warehouse.scalar(
                f"select count(distinct {pk}) from {name} where {cursor} < "
                f"(select date_trunc('second', max({cursor})) from {name})"
                + live.replace(" where ", " and ")
            )
            or 0
        )
    loaded_total = totals.loaded if totals.loaded is not None else totals.now
    if rows > totals.now:
        difference = rows - totals.now
    elif loaded_rows < loaded_total:
        difference = loaded_rows - loaded_total
    else:
        difference = 0
    return dg.AssetCheckResult(
        asset_key=table,
        check_name="matches_api_total",
        passed=difference == 0,
        metadata={
            "checkable": True,
            "warehouse_rows": rows,
            "api_total": totals.now,
            "difference": difference,
            "loaded_before": totals.newest.isoformat() if totals.newest else "",
            "warehouse_rows_before": loaded_rows,
            "api_total_before": loaded_total,
        },
    )


CHECKS = {
    "id_is_unique": _id_is_unique,
    "ticket_exists": _ticket_exists,
    "is_fresh": _is_fresh,
    "matches_api_total": _matches_api_total,
}


def _hours_since(value: Any, now: dt.datetime) -> float | None:
    if value is None:
        return None
    return max(0.0, (now - aware(value)).total_seconds() / 3600)


def fetch_api_totals(
    support_api: SupportApiResource, settings: Settings, warehouse: Warehouse
) -> dict[str, ApiTotals]:
    """Each collection's `total` since SUPPORT_START_DATE, now and before the newest load.

    One-record pages, two per table. Soft-deleted tickets stay in the API's collection
    (status "deleted"), so they are counted on both sides; records purged at the vendor
    make the warehouse count higher.
    """
    api = settings.api
    if api.total_path is None and settings.vendor in VENDOR_COUNTS:
        return vendor_count(support_api, settings)
    if api.total_path is None:
        reason = "SUPPORT_TOTAL_PATH is empty, so the API sends no total to compare with"
        return {table: ApiTotals(None, reason=reason) for table in TABLES}
    with warehouse:  # one SQL client, closed before any request
        stored = {
            table: warehouse.scalar(
                f"select max({column_of(api.cursor_of(table))}) from {warehouse.rows(table, 'r')}"
            )
            for table in TABLES
        }
    connection = support_api.connect(settings)
    totals = {}
    for table in TABLES:
        newest = aware(stored[table]) if stored[table] is not None else None
        params = {
            api.since_param: f"{settings.start_date.isoformat()}T00:00:00Z",
            api.offset_param: 0,
            api.limit_param: 1,
        }
        now = _api_total(connection, settings, table, params)
        loaded = None
        if now is not None and newest is not None:
            params[api.before_param] = format_ts(newest)
            loaded = _api_total(connection, settings, table, params)
        reason = (
            f"the API's page has no integer total at SUPPORT_TOTAL_PATH={api.total_path!r}"
            if now is None
            else ""
        )
        totals[table] = ApiTotals(
            now, loaded, newest.replace(microsecond=0) if newest else None, reason
        )
    return totals


# A desk whose list counts without a total to page by: the path of its count, the query.
VENDOR_COUNTS = {"helpscout": ("page.totalElements", {"status": "all"})}


def vendor_count(support_api: SupportApiResource, settings: Settings) -> dict[str, ApiTotals]:
    """The tickets the desk counts (Help Scout's `page.totalElements`: one request).

    No upper bound to ask with, so the rows must equal it: exact on a desk that stood still
    since the load. Help Scout counts conversations, not threads.
    """
    path, params = VENDOR_COUNTS[settings.vendor]
    connection = support_api.connect(settings)
    query = {**params, settings.api.since_param: f"{settings.start_date.isoformat()}T00:00:00Z"}
    response = connection.session.get(
        connection.base_url + settings.api.tickets.path, params=query, auth=connection.auth
    )
    response.raise_for_status()
    count = total_at(response.json(), path)
    reason = f"the desk counts tickets only (at {path})"
    return {
        TICKETS_RESOURCE: ApiTotals(count if isinstance(count, int) else None, reason=reason),
        COMMENTS_RESOURCE: ApiTotals(None, reason=reason),
    }


def _api_total(
    connection: Connection, settings: Settings, table: str, params: dict[str, Any]
) -> int | None:
    """The total of one one-record page, read where the paginator reads it."""
    api = settings.api
    assert api.total_path is not None
    response = connection.session.get(
        connection.base_url + api.endpoint(table).path,
        params=params,
        headers={"Authorization": connection.auth.bearer()},
    )
    response.raise_for_status()
    total = total_at(response.json(), api.total_path)
    return total if isinstance(total, int) and not isinstance(total, bool) else None
