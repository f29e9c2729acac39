"""The assets' column schema and descriptions in Dagster, from the source's column data.

The spec's `dagster/column_schema` is what the UI shows before the first load, and after
it the UI takes each column's description from here onto the materialization's schema
(which dagster-dlt builds from dlt's, with the types the load found).
"""

import dagster as dg

from support_assets.settings import Settings
from support_assets.source.columns import (
    DESKS,
    ENDPOINTS,
    NAMING,
    columns_of,
    hashed_description,
    preset_of,
)
from support_assets.source.contract import COMMENTS_RESOURCE, TICKETS_RESOURCE

WHAT_OF = {TICKETS_RESOURCE: "Tickets", COMMENTS_RESOURCE: "Ticket comments"}


def described(spec: dg.AssetSpec, settings: Settings | None, table: str) -> dg.AssetSpec:
    """The spec with the desk and endpoint filling the table, and what each column holds."""
    if settings is None or table not in WHAT_OF:
        return spec
    return spec.replace_attributes(description=asset_description(settings, table)).merge_attributes(
        metadata={"dagster/column_schema": column_schema(settings, table)}
    )


# The columns dlt's scd2 strategy and the version hash add (SUPPORT_HISTORY=scd2).
HISTORY_COLUMNS = {
    "_dlt_valid_from": (
        "timestamp",
        "When this version became the current one: the time of the load that read it (UTC).",
    ),
    "_dlt_valid_to": (
        "timestamp",
        "When this version stopped being current (a newer version loaded, or a full refresh "
        "found the record gone); null while it is current.",
    ),
    "_version_hash": (
        "text",
        "Hash of the record's content: a record read again unchanged adds no version.",
    ),
}


def column_schema(settings: Settings, resource: str) -> dg.TableSchema:
    """Every column the desk's table gets, with its dlt type and what it holds.

    As the settings store them: an excluded field has no column, a hashed one holds text,
    and history adds its validity columns.
    """
    columns = dict(columns_of(settings.api, resource))
    for rule in settings.exclude_columns:
        if rule.applies_to(resource) and len(rule.path) == 1:
            columns.pop(NAMING.normalize_identifier(rule.path[0]), None)
    for rule in settings.hash_columns:
        name = NAMING.normalize_identifier(rule.path[0])
        if rule.applies_to(resource) and len(rule.path) == 1 and name in columns:
            what = columns[name][1]
            columns[name] = ("text", hashed_description(what))
    if settings.history == "scd2":
        columns.update(HISTORY_COLUMNS)
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, kind, description) for name, (kind, description) in columns.items()
        ]
    )


def asset_description(settings: Settings, resource: str) -> str:
    """Which desk fills the table, from which endpoint, and how rows are kept.

    The endpoint is named as the preset names it only while its path is the preset's: an
    overridden path is the user's own endpoint.
    """
    api = settings.api
    names = api.endpoint(resource)
    vendor = settings.vendor
    desk = DESKS.get(vendor, vendor)
    request = f"GET {names.path}"
    if names.params:
        request += "?" + "&".join(f"{key}={value}" for key, value in names.params)
    what = WHAT_OF[resource]
    owner = "the reference Support API's" if vendor == "generic" else f"{desk}'s"
    if preset_of(api, resource) == vendor:
        source = f"{owner} {ENDPOINTS[vendor][resource]} ({request})"
    else:
        source = f"{desk} at {request}"
    per_ticket = ", read per ticket loaded" if names.per_ticket else ""
    nested = f", one row per record in its `{names.nested}`" if names.nested else ""
    if names.nested and names.nested_filter:
        nested += " with {}={}".format(*names.nested_filter)
    cursor = NAMING.normalize_identifier(api.cursor_of(resource))
    return (
        f"{what} from {source}{per_ticket}{nested}; a record's newest {cursor} wins, merged "
        f"on {api.primary_key}."
    )
