"""Freshdesk API v2 over the sandbox's data: the tickets list and ticket conversations.

Citation keys are those of docs/vendors.md (section 2); GUESS marks what no source there shows.

Auth: HTTP Basic, the API key as username and any password, conventionally `X` [FD-V1]. The
key is `Config.client_secret`; `client_id` is unused. A missing or wrong key answers 401
`{"code":"invalid_credentials","message":"You have to be logged in to perform this action."}`
(the message from sjkingo/python-freshdesk #74, the `code` a GUESS). No OAuth: `/oauth/token`
is 404 [issue #14]. A static key has nothing to revoke or expire, so `token_revoke`,
`token_early_expiry` and `no_access_token` change nothing here. Methods other than GET answer
405 (GUESS: the sandbox emulates reads only).

`GET /api/v2/tickets` [AB-FD, FD-LIST]: a bare JSON array, no total; `per_page` 30 by default,
at most 100 [FD-PP]; `page` from 1, above 300 a 400 `invalid_value` on `page` [AB-FD-TT]; a
`Link: <url>; rel="next"` header, the request's own query with `page` replaced, while another
page exists (page 300 links to 301, as AB-FD-TT's mocks expect) and none on the last [AB-FD].
`updated_since` (RFC 3339) keeps tickets updated at or after it, to the second [AB-FD-300,
GUESS level]; without it, only tickets created in the 30 days before the desk's clock
[AB-FD-PY]. `order_by` created_at (default), due_by, updated_at or status; `order_type` desc
(default) or asc [FD-LIST]. Ties break on id in the same direction; `status` orders by
(status, created_at, id); the store has no SLA, so `due_by` orders as `created_at` (GUESS).
`filter`: soft-deleted and spam tickets are left out unless `filter=deleted` (then only them)
or `filter=spam` [FD-LIST]; the store has no spam, so `spam` lists nothing. `filter=deleted`
combines with `updated_since` and the order, as tap-freshdesk sends it [TAP-FD; GUESS for
the live desk]. `new_and_my_open` lists open unassigned tickets and `watching` nothing: the
key is no agent of the store's (GUESS). `include` takes description, requester, stats
[FD-LIST]; `description` and `description_text` come only with `include=description` (GUESS:
singer-io/tap-freshdesk PR #57 adds it to the list call; Airbyte always sends it [AB-FD-TT]);
`requester` ({id, name, email, mobile, phone}) and `stats` (eight timestamps) follow the
response template beside AB-FD-TT, their values made up from the ticket (GUESS). Any other
field answers 400 `{"description":"Validation failed","errors":[{"field":"<name>","message":
"Unexpected/invalid field in request","code":"invalid_field"}]}` [FC]; a bad value the same
envelope with code `invalid_value` or `datatype_mismatch` (messages GUESS); every error of a
request is listed. FC also accepts `ids company_id requester_id email query_hash`: not
emulated, they answer `invalid_field`. A repeated field keeps its last value, as Rails parses
a query (GUESS).

Ticket [AB-FD `schemas.tickets`, FD-LIST]: id, subject, status (2 Open for the store's new and
open, 3 Pending, 4 Resolved for solved, 5 Closed), priority (1 low, 2 normal, 3 high, 4
urgent; null as 1, Freshdesk's default: GUESS), requester_id, responder_id (the store's
assignee_id), tags, custom_fields (`cf_` + the store's key), spam (false), created_at,
updated_at (`%Y-%m-%dT%H:%M:%SZ`). A soft-deleted ticket adds `deleted: true` [GUESS] and, as
the store forgets the status it had, shows 5 (GUESS). The description is the store's text as
HTML, a `<div>` per paragraph (GUESS), and as text.

`GET /api/v2/tickets/{id}/conversations` [AB-FD, FD-CONV]: a bare array, oldest first (GUESS),
`per_page` 30 by default [FD-CONV], at most 100, `page` uncapped (GUESS), `Link rel=next` as
above; 404 with an empty body for an unknown or purged ticket (GUESS); a soft-deleted
ticket's conversations are still served (GUESS). Conversation [AB-FD `schemas.conversations`,
FD-CONV]: id, body (HTML), body_text, incoming (the author is the ticket's requester: GUESS),
private (not public), user_id (the author), ticket_id, source (0 reply, 2 note: GUESS),
created_at, updated_at. Soft-deleted comments are left out: Freshdesk documents no deleted
conversation (GUESS). A comment created, edited, deleted or purged in the store stamps its
ticket anew at the next request, as a reply updates a ticket on the desk (GUESS, implied by
connectors reading the conversations of every updated ticket [AB-FD, TAP-FD]), so an
incremental loader finds it.

Rate limits: every answer of these routes carries `X-RateLimit-Total` (200 a minute, the
Growth plan [FD-RL]), `X-RateLimit-Remaining` (credits left in this minute of the desk's
clock; never enforced) and `X-RateLimit-Used-CurrentRequest`: 1, plus 2 per `include` value
[FD-LIST; value GUESS]; a 401 or 429 costs 0. Under `rate_limit` the chosen requests answer
429 with `Retry-After: <seconds>` (header names and units: api-evangelist/freshdesk, secondary;
freshdeskr; AB-FD `api_budget`) and `{"message":"You have exceeded the limit of requests per
minute"}` (GUESS). Under `rate_budget` the budget is the fault's and enforced, in credits as
above: over it, that 429 with `Retry-After` until the window ends; advertised, the three
headers carry its numbers; hidden, none (requests the budget does not count, a 401 or a 400,
carry none either). `server_errors`, `slow`, `outage` and `desk_clock` act as on the reference
contract. `live_updates`: before page N > 1 of the tickets list, `per_page` (the fault's)
tickets among the (N-1) * per_page the client has passed in the query's order get an agent's
edit and a new stamp; in `updated_at` order they move to the end, and a client following
page numbers skips one record per move. Conversations do not churn. `schema_drift`,
`malformed_page`, `missing_data_key`, `missing_id` and hostile cases are the reference
contract's and are not applied here.

Truth: tickets as `include=description` renders them, soft-deleted ones included with
`deleted: true` (a loader sees them through `filter=deleted`, as tap-freshdesk's deleted pass
does [TAP-FD]); comments: every conversation not soft-deleted, of every ticket in truth, with
its own `ticket_id`. Both in the store's (updated_at, id) order.
"""

import asyncio
import re
from bisect import bisect_left
from itertools import islice
from typing import TYPE_CHECKING, Any

import orjson

from support_assets.sandbox.asgi import JSON, Receive, Response
from support_assets.sandbox.data import ID_BITS, ID_MASK
from support_assets.sandbox.vendors.freshdesk.limits import metered, take, throttled
from support_assets.sandbox.vendors.freshdesk.order import Index, select, sync
from support_assets.sandbox.vendors.freshdesk.query import (
    CONVERSATION_FIELDS,
    TICKETS,
    ListQuery,
    api_key,
    canonical,
    fields,
    invalid,
    next_link,
    paging,
    parse_list_query,
)
from support_assets.sandbox.vendors.freshdesk.shapes import render_conversation

if TYPE_CHECKING:
    from support_assets.sandbox.app import SandboxApp
    from support_assets.sandbox.state import Sandbox

_CONVERSATIONS = re.compile(r"/api/v2/tickets/([0-9]{1,18})/conversations")
_UNAUTHORIZED = (
    b'{"code":"invalid_credentials","message":"You have to be logged in to perform this action."}'
)
_NOT_GET = b'{"code":"method_not_allowed","message":"The sandbox emulates GET only"}'
_OUTAGE = b'{"error":"outage","message":"the API is down"}'


class Freshdesk:
    """The `Desk` for Freshdesk: the package docstring lists each behaviour and its source."""

    name = "freshdesk"

    def __init__(self) -> None:
        self._index: Index | None = None

    def index(self, sandbox: "Sandbox", conversations: bool = False) -> Index:
        """The index over the current data, caught up with the store's mutations."""
        tickets, comments = sandbox.collections["tickets"], sandbox.collections["comments"]
        index = self._index
        if index is None or index.tickets is not tickets or index.comments is not comments:
            index = self._index = Index(tickets, comments)
        sync(index, sandbox, conversations)
        return index

    async def handle(
        self, app: "SandboxApp", scope: dict[str, Any], receive: Receive
    ) -> Response | None:
        """Answer a tickets list or conversations request; None for any other path."""
        path = scope["path"]
        match = _CONVERSATIONS.fullmatch(path)
        if path != TICKETS and match is None:
            return None
        sandbox = app.sandbox
        index = self.index(sandbox, conversations=match is not None)
        if scope["method"] != "GET":
            return metered(index, sandbox, (405, JSON, _NOT_GET), 0)
        if api_key(scope) != sandbox.config.client_secret:
            slow = sandbox.faults.active.get("slow")
            if slow and slow["unauthorized"]:
                sandbox.stats.fault("slow")
                await asyncio.sleep(slow["delay"])
            return metered(index, sandbox, (401, JSON, _UNAUTHORIZED), 0)
        if match is not None:
            grant = take(sandbox, 1)
            if grant is not None and not grant.allowed:
                return metered(index, sandbox, throttled(grant.reset), 1, grant)
            answer = await self._conversations(app, index, int(match[1]), scope)
            return metered(index, sandbox, answer, 1, grant)
        query = parse_list_query(scope["query_string"])
        if not isinstance(query, ListQuery):
            return metered(index, sandbox, query, 1)
        credits = 1 + 2 * len(query.include)
        grant = take(sandbox, credits)
        if grant is not None and not grant.allowed:
            return metered(index, sandbox, throttled(grant.reset), credits, grant)
        url = canonical(TICKETS, scope["query_string"])
        answer = await self._tickets(app, index, query, url)
        return metered(index, sandbox, answer, credits, grant)

    def truth(self, sandbox: "Sandbox", resource: str) -> bytes:
        """Tickets with descriptions, deleted ones flagged; every conversation not deleted."""
        index = self.index(sandbox, conversations=True)
        tickets, comments = sandbox.collections["tickets"], sandbox.collections["comments"]
        if resource == "tickets":
            ids = (key & ID_MASK for key in tickets.keys)
            return b"[" + b",".join(index.ticket_json(i, ("description",)) for i in ids) + b"]"
        requesters: dict[int, int] = {}
        out = []
        for key, row in zip(comments.keys, comments.rows, strict=True):
            if key & ID_MASK in comments.deleted:
                continue
            record = orjson.loads(row)
            ticket = record["ticket_id"]
            if ticket not in requesters:
                requesters[ticket] = tickets.load(ticket)["requester_id"]
            out.append(render_conversation(record, requesters[ticket]))
        return orjson.dumps(out)

    async def _tickets(
        self, app: "SandboxApp", index: Index, query: ListQuery, url: str
    ) -> Response:
        sandbox = app.sandbox
        failure, attempt = await self._faults(sandbox, url)
        if failure is not None:
            return failure
        passed_some = query.page > 1 or query.since is not None
        if passed_some and "live_updates" in sandbox.faults.active:
            self._churn(sandbox, index, query, url, attempt)
        page = list(islice(select(index, sandbox, query, query.skip), query.per_page + 1))
        shown = page[: query.per_page]
        body = b"[" + b",".join(index.ticket_json(i, query.include) for i in shown) + b"]"
        sandbox.page_served("tickets", len(shown))
        if len(page) > len(shown):
            return 200, [*JSON, next_link(app.url + TICKETS, query.raw, query.page)], body
        return 200, JSON, body

    async def _conversations(
        self, app: "SandboxApp", index: Index, ticket: int, scope: dict[str, Any]
    ) -> Response:
        given, errors = fields(scope["query_string"], CONVERSATION_FIELDS)
        page, per_page = paging(given, errors, None)
        if errors:
            return invalid(errors)
        sandbox = app.sandbox
        tickets, comments = sandbox.collections["tickets"], sandbox.collections["comments"]
        if ticket not in tickets.key_of:
            return 404, JSON, b""
        failure, _ = await self._faults(sandbox, canonical(scope["path"], scope["query_string"]))
        if failure is not None:
            return failure
        ids = index.conversations(ticket)
        start = (page - 1) * per_page
        shown = ids[start : start + per_page]
        requester = tickets.load(ticket)["requester_id"]
        body = orjson.dumps([render_conversation(comments.load(i), requester) for i in shown])
        sandbox.page_served("comments", len(shown))
        if len(ids) > start + per_page:
            raw = scope["query_string"].decode("latin-1")
            return 200, [*JSON, next_link(app.url + scope["path"], raw, page)], body
        return 200, JSON, body

    async def _faults(self, sandbox: "Sandbox", url: str) -> tuple[Response | None, int]:
        """Slow, outage, then a 429 or a 5xx as on the reference contract; and the attempt."""
        faults = sandbox.faults
        if not faults.active:
            return None, 0
        if "slow" in faults.active:
            sandbox.stats.fault("slow")
            await asyncio.sleep(faults.active["slow"]["delay"])
        if faults.in_outage():
            sandbox.stats.fault("outage")
            return (503, JSON, _OUTAGE), 0
        attempt = faults.attempt(url) if faults.keyed else 0
        failure = faults.transient(url, attempt)
        if not failure:
            return None, attempt
        name, status, headers, body = failure
        sandbox.stats.fault(name)
        if name == "rate_limit":
            return throttled(int(faults.active[name]["retry_after"])), attempt
        return (status, headers, body), attempt

    def _churn(
        self, sandbox: "Sandbox", index: Index, query: ListQuery, url: str, attempt: int
    ) -> None:
        """Edit tickets the client has passed; they move where the query's order puts them."""
        tickets = sandbox.collections["tickets"]
        for number in range(int(sandbox.faults.active["live_updates"]["per_page"])):
            # Passed: this read's earlier pages, and (in ascending update order) every
            # ticket before its `updated_since`, which a client re-seeking there has read.
            earlier: list[int] = []
            if query.since is not None and query.order_by == "updated_at" and not query.descending:
                before = tickets.keys[: bisect_left(tickets.keys, query.since << ID_BITS)]
                earlier = [k & ID_MASK for k in before if k & ID_MASK not in tickets.deleted]
            passed = earlier + list(islice(select(index, sandbox, query, 0), query.skip))
            if not passed:
                return
            chosen = passed[sandbox.faults.pick(url, attempt, number, len(passed))]
            tickets.revise(chosen, sandbox.stamp(tickets))
            index.edits += 1
            sandbox.stats.fault("live_updates")


DESK = Freshdesk()
