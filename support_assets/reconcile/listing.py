"""What the desk says still exists (or is gone): the cheapest listing each preset allows.

Two kinds. A desk with a deleted-items endpoint lists what it deleted (`deleted`): Zendesk's
trash (`/api/v2/deleted_tickets`), Freshdesk's `filter=deleted` and `filter=spam` lists.
Such a listing can only miss a deletion (a purge straight from the trash, a ticket moving
while it is paged), never name a live ticket, so it marks nothing wrongly. Any other desk
(the reference contract, Help Scout, a desk described by settings) has no such endpoint:
every ticket id is listed through the tickets collection itself (`live`), read by the same
no-loss paginators as a load, and what the warehouse holds beyond it is gone.
"""

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from support_assets.settings import Settings
from support_assets.source import support_source
from support_assets.source.connection import Connection
from support_assets.source.contract import TICKETS_RESOURCE
from support_assets.source.window import OPEN_END, LoadWindow

ZENDESK_TRASH = "/api/v2/deleted_tickets"
FRESHDESK_TICKETS = "/api/v2/tickets"
FRESHDESK_FILTERS = ("deleted", "spam")


@dataclasses.dataclass(frozen=True)
class Listing:
    """The desk's answer: which tickets exist (`live`) or which it deleted (`deleted`)."""

    kind: str
    # The ids as text (`record_key`): the contract's and the presets' ids are integers, a
    # desk of the user's own may use strings; either compares with the warehouse's alike.
    ids: frozenset[str]
    # What was asked, for the run's log and metadata.
    listed: str
    requests: int = 0


def record_key(value: object) -> str:
    """An id as the listing and the warehouse both spell it: `17` and `"17"` are one ticket."""
    return str(value)


def list_tickets(settings: Settings, connection: Connection) -> Listing:
    """The cheapest listing of the configured desk (see the module docstring)."""
    before = connection.telemetry.requests
    if settings.vendor == "zendesk":
        ids, listed = frozenset(_zendesk_trash(connection)), f"GET {ZENDESK_TRASH}"
        kind = "deleted"
    elif settings.vendor == "freshdesk":
        ids = frozenset(_freshdesk_filtered(settings, connection))
        listed = " and ".join(f"GET {FRESHDESK_TICKETS}?filter={f}" for f in FRESHDESK_FILTERS)
        kind = "deleted"
    else:
        listed, kind = f"GET {settings.api.tickets.path}", "live"
        try:
            ids = _live_ids(settings, connection)
        except Exception as exc:  # the load's own words for it, after its retries
            raise ListingFailed(
                f"{listed} failed: nothing was marked or removed. {_innermost(exc)}"
            ) from None
    return Listing(kind, ids, listed, connection.telemetry.requests - before)


def _live_ids(settings: Settings, connection: Connection) -> frozenset[str]:
    """Every ticket id from SUPPORT_START_DATE on, then again every one changed meanwhile.

    The load's paginators end a read at the desk's clock when it starts: a ticket updated
    after that is past the read, not gone. The second read, from just before that bound,
    finds those; only a ticket changed again during that short read can still be missed
    (marked this time, unmarked by the next refresh, which loads its change).
    """
    start = dt.datetime.combine(settings.start_date, dt.time(), dt.UTC)
    hooks = connection.session.hooks["response"]
    if connection.clock.observe not in hooks:  # the bound below is by the desk's clock
        hooks.append(connection.clock.observe)
    # The paginator takes its bound a moment later; anything it leaves out is past this one.
    bound = connection.window_end() - dt.timedelta(seconds=1)
    ids = set(_ids_in(connection, LoadWindow(start=start, end=OPEN_END)))
    ids.update(_ids_in(connection, LoadWindow(start=max(start, bound), end=OPEN_END)))
    return frozenset(ids)


def _ids_in(connection: Connection, window: LoadWindow) -> Iterator[str]:
    """The ids of the tickets resource's pages (Arrow tables or dicts), nothing stored."""
    key = connection.api.primary_key
    source = support_source(connection=connection, window=window)
    for item in source.resources[TICKETS_RESOURCE]:
        for page in item if isinstance(item, list) else [item]:
            if hasattr(page, "column"):
                yield from (record_key(i) for i in page.column(key).to_pylist() if i is not None)
            elif isinstance(page, dict) and page.get(key) is not None:
                yield record_key(page[key])


def _zendesk_trash(connection: Connection) -> Iterator[str]:
    """Zendesk's deleted tickets, by cursor pagination, 100 a page (its maximum)."""
    url: str | None = connection.base_url.rstrip("/") + ZENDESK_TRASH
    params: dict[str, Any] | None = {"page[size]": 100}
    while url:
        body = _get(connection, url, params).json()
        yield from (record_key(ticket["id"]) for ticket in body.get("deleted_tickets") or [])
        has_more = (body.get("meta") or {}).get("has_more")
        url, params = ((body.get("links") or {}).get("next") if has_more else None), None


def _freshdesk_filtered(settings: Settings, connection: Connection) -> Iterator[str]:
    """Freshdesk's deleted and spam tickets, following each list's `Link` header.

    Without `updated_since` the list holds only the last 30 days' tickets.
    """
    since = f"{settings.start_date.isoformat()}T00:00:00Z"
    for name in FRESHDESK_FILTERS:
        url: str | None = connection.base_url.rstrip("/") + FRESHDESK_TICKETS
        params: dict[str, Any] | None = {
            "filter": name,
            "updated_since": since,
            "order_by": "updated_at",
            "order_type": "asc",
            "per_page": 100,
        }
        while url:
            response = _get(connection, url, params)
            yield from (record_key(ticket["id"]) for ticket in _records(response.json()))
            url, params = response.links.get("next", {}).get("url"), None


def _records(body: Any) -> Iterable[dict[str, Any]]:
    if not isinstance(body, list):
        raise ValueError(f"Freshdesk's ticket list sent {type(body).__name__}, not a list")
    return body


class ListingFailed(RuntimeError):
    """The desk did not answer a listing; nothing in the warehouse was changed."""


def _innermost(exc: BaseException) -> str:
    """Dlt wraps a resource's error in its own; the cause says what happened."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return str(exc)


def _get(connection: Connection, url: str, params: dict[str, Any] | None) -> Any:
    """One GET with the run's auth and retries (the load's session): a failure in words."""
    response = connection.session.get(url, params=params, auth=connection.auth)
    if response.status_code >= 400:
        path = url.split("?", 1)[0]
        raise ListingFailed(
            f"the desk answered {response.status_code} to GET {path} (after up to "
            f"{connection.session.policy.max_retries} retries): nothing was marked or "
            "removed. Run the reconcile again once the desk answers."
        )
    return response
