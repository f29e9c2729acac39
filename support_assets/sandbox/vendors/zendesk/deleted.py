"""Zendesk's `GET /api/v2/deleted_tickets`: the tickets in the trash, by cursor pagination.

Sources: Zendesk's OpenAPI for the endpoint [NEW: api-evangelist/zendesk,
openapi/deleted-tickets-openapi-original.yml] says it returns at most 100 deleted tickets a
page, every deleted ticket not yet scrubbed (purged 30 days after deletion) and not archived,
ordered by creation, oldest first, with cursor pagination recommended; the cursor shape
(`page[size]`, `page[after]`, `meta.has_more`, `meta.after_cursor`, `links.next`) is Zendesk's
general cursor pagination [ZD-OAS, "Pagination"]. A record is `{id, subject, description,
actor: {id, name}, deleted_at, previous_state}` as that OpenAPI's example shows; `actor` here
is a made-up agent and `previous_state` is `open` (GUESS: the store forgets the status a
ticket had). The cursor is Base64 of the last ticket's `{created_at}|{id}` (GUESS: Zendesk's
cursors are opaque). A purged ticket is in no list, here as on the desk. Offset pagination
(`page=`, `next_page`) is not emulated; `page[size]` above 100 answers 400 `InvalidValue`
(GUESS for the body).
"""

import base64
import binascii
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

import orjson

from support_assets.sandbox.vendors.zendesk.export import Invalid

if TYPE_CHECKING:
    from support_assets.sandbox.state import Sandbox

PATH = "/api/v2/deleted_tickets"
MAX_SIZE = 100
_ACTOR = {"id": 360000000001, "name": "Sandbox Agent"}


def _cursor(created: str, ident: int) -> str:
    return base64.urlsafe_b64encode(f"{created}|{ident}".encode()).decode()


def _decode(cursor: str) -> tuple[str, int]:
    try:
        created, _, ident = base64.urlsafe_b64decode(cursor.encode()).decode().rpartition("|")
        return created, int(ident)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        message = f"page[after] is not a cursor of this list: {cursor!r}"
        raise Invalid("InvalidValue", message) from None


def page(sandbox: "Sandbox", query_string: bytes, base: str) -> bytes:
    """One page of the trash, oldest ticket first.

    Raises:
        Invalid: `page[size]` is not 1 to 100, or `page[after]` is no cursor of this list.
    """
    params = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    raw_size = params.get("page[size]", str(MAX_SIZE))
    if not (raw_size.isdigit() and 1 <= int(raw_size) <= MAX_SIZE):
        raise Invalid("InvalidValue", f"page[size] must be from 1 to {MAX_SIZE}")
    size = int(raw_size)
    tickets = sandbox.collections["tickets"]
    trash = sorted(
        (record["created_at"], record["id"], record)
        for record in (tickets.load(i) for i in tickets.deleted if i in tickets.key_of)
    )
    start = 0
    if "page[after]" in params:
        after = _decode(params["page[after]"])
        start = next((n for n, (c, i, _) in enumerate(trash) if (c, i) > after), len(trash))
    shown = trash[start : start + size]
    has_more = start + size < len(trash)
    last = _cursor(shown[-1][0], shown[-1][1]) if shown else None
    first = _cursor(shown[0][0], shown[0][1]) if shown else None
    next_url = f"{base}{PATH}?{urlencode({'page[size]': size, 'page[after]': last})}"
    body = {
        "deleted_tickets": [
            {
                "id": record["id"],
                "subject": record["subject"],
                "description": record["description"],
                "actor": _ACTOR,
                "deleted_at": record["updated_at"],
                "previous_state": "open",
            }
            for _, _, record in shown
        ],
        "meta": {"has_more": has_more, "after_cursor": last, "before_cursor": first},
        "links": {"next": next_url if has_more else None, "prev": None},
    }
    sandbox.page_served("tickets", len(shown))
    return orjson.dumps(body)
