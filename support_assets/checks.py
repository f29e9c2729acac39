"""Asset checks: what a data engineer would look at before trusting the tables."""

import datetime as dt
import tempfile
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from support_assets.pipeline import support_pipeline
from support_assets.resources import SupportApiResource
from support_assets.settings import COMMENTS_RESOURCE, TICKETS_RESOURCE, Settings

TABLES = (TICKETS_RESOURCE, COMMENTS_RESOURCE)


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
                description="As many rows as the API's total since SUPPORT_START_DATE.",
            ),
        ]
    specs.append(
        dg.AssetCheckSpec(
            "ticket_exists",
            asset=COMMENTS_RESOURCE,
            additional_deps=[TICKETS_RESOURCE],
            description="Every comment's ticket_id is in support_tickets (warning only).",
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
        warehouse = Warehouse(settings)
        api_totals: dict[str, int] = {}
        if any(name == "matches_api_total" for _, name in selected):
            api_totals = fetch_api_totals(support_api, settings)
        for table, name in sorted(selected):
            check = CHECKS[name]
            yield check(warehouse, settings, table, api_totals)

    return [support_checks]


class Warehouse:
    """Read-only questions to the destination, through dlt's SQL client."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pipeline = support_pipeline(settings, tempfile.mkdtemp(prefix="support_checks_"))

    def scalar(self, sql: str) -> Any:
        """The single value of a query; None when the table does not exist yet."""
        try:
            with self.pipeline.sql_client() as client:
                rows = client.execute_sql(sql)
        except DatabaseUndefinedRelation:
            return None
        return rows[0][0] if rows else None

    def table(self, name: str) -> str:
        """The qualified name of a dataset table."""
        with self.pipeline.sql_client() as client:
            return client.make_qualified_table_name(name)


def _id_is_unique(
    warehouse: Warehouse, settings: Settings, table: str, _: dict[str, int]
) -> dg.AssetCheckResult:
    pk = settings.api.primary_key
    duplicates = warehouse.scalar(
        f"select count(*) - count(distinct {pk}) from {warehouse.table(table)}"
    )
    return dg.AssetCheckResult(
        asset_key=table,
        check_name="id_is_unique",
        passed=duplicates in (0, None),
        metadata={"duplicate_rows": int(duplicates or 0)},
    )


def _ticket_exists(
    warehouse: Warehouse, settings: Settings, table: str, _: dict[str, int]
) -> dg.AssetCheckResult:
    orphans = warehouse.scalar(
        f"select count(*) from {warehouse.table(COMMENTS_RESOURCE)} c "
        f"where not exists (select 1 from {warehouse.table(TICKETS_RESOURCE)} t "
        f"where t.{settings.api.primary_key} = c.ticket_id)"
    )
    if orphans is None:  # no tickets table yet: every loaded comment lacks its ticket
        orphans = warehouse.scalar(f"select count(*) from {warehouse.table(COMMENTS_RESOURCE)}")
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
    warehouse: Warehouse, settings: Settings, table: str, _: dict[str, int]
) -> dg.AssetCheckResult:
    now = dt.datetime.now(dt.UTC)
    last_load = warehouse.scalar(
        f"select max(inserted_at) from {warehouse.table('_dlt_loads')} where status = 0"
    )
    newest = warehouse.scalar(
        f"select max({settings.api.cursor_field}) from {warehouse.table(table)}"
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
    warehouse: Warehouse, settings: Settings, table: str, api_totals: dict[str, int]
) -> dg.AssetCheckResult:
    pk = settings.api.primary_key
    rows = int(warehouse.scalar(f"select count(distinct {pk}) from {warehouse.table(table)}") or 0)
    api = api_totals[table]
    return dg.AssetCheckResult(
        asset_key=table,
        check_name="matches_api_total",
        passed=rows == api,
        metadata={"warehouse_rows": rows, "api_total": api, "difference": rows - api},
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
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return max(0.0, (now - value).total_seconds() / 3600)


def fetch_api_totals(support_api: SupportApiResource, settings: Settings) -> dict[str, int]:
    """Each collection's `total` since SUPPORT_START_DATE: one one-record page per table.

    Soft-deleted tickets stay in the API's collection (status "deleted"), so they are
    counted on both sides; records purged at the vendor make the warehouse count higher.
    """
    connection = support_api.connect(settings.api, settings.retry, settings.token_refresh_margin)
    api = settings.api
    totals = {}
    for table in TABLES:
        response = connection.session.get(
            connection.base_url + api.endpoint(table).path,
            params={
                api.since_param: f"{settings.start_date.isoformat()}T00:00:00Z",
                api.offset_param: 0,
                api.limit_param: 1,
            },
            headers={"Authorization": connection.auth.bearer()},
        )
        response.raise_for_status()
        totals[table] = int(response.json()[api.total_path or "total"])
    return totals
