"""Zendesk Support over the sandbox's records: its auth, its two incremental exports, its errors.

Bracketed keys are the citations of docs/vendors.md; NEW marks a source found for this module
and not yet in that file; GUESS marks what no source supports.

Auth. Every data route takes HTTP Basic `{email}/token:{api_token}` [ZD-AUTH; DLT-ZD], with
`client_id` as the agent's email and `client_secret` as the API token, or a Bearer token from
`POST /oauth/tokens` [ZD-AUTH]. That endpoint takes `grant_type=client_credentials` with
`client_id` and `client_secret` in the body [NEW: support.zendesk.com/hc/articles/8983332483226,
developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens], as JSON as documented or
as a form (GUESS), and answers `{"access_token", "token_type": "bearer", "scope"}` [NEW: same
page] plus `expires_in`, the configured TTL (GUESS). A refused credential gets 401
`{"error":"Couldn't authenticate you"}` [ZD-401], a plain `email:secret` too (the usual cause:
no `/token`); a dead Bearer token gets 401 `{"error":"invalid_token","error_description":...}`
(GUESS); bad client credentials 401 `invalid_client` (GUESS). API tokens are static, so
`token_revoke` and `token_early_expiry` only touch Bearer tokens.

Tickets: `GET /api/v2/incremental/tickets/cursor.json` (`.json` optional) [ZD-IEG; FIVETRAN].
The first request takes `start_time` (epoch seconds) [ZD-IE-OLD; ZD-OAS], the next ones
`cursor` instead [ZD-IEG]; `per_page` is 1 to 1000, 1000 by default [zdeskR in vendors.md; the
maximum is GUESS]; `exclude_deleted=true` drops `status: "deleted"` tickets, which are otherwise
exported (GUESS for the name and the shape [ZD-IE topic list; Prefect]). The body is
`{"tickets", "after_url", "after_cursor", "before_url", "before_cursor", "end_of_stream"}`
[ZD-OAS]; `before_*` are always null, as in ZD-OAS's example (GUESS beyond it).
`end_of_stream: true` means all is read; keep `after_cursor` for the next run [ZD-IE;
FIVETRAN]. Order: `generated_timestamp` (the store's `updated_at` second), then `id` (GUESS
[ZD-OAS]). The cursor is exclusive: it names the last record read, Base64 of
`"{generated_timestamp}.0||{id}|"` as ZD-OAS's example decodes (GUESS beyond it); `after_url`
keeps `per_page` and `exclude_deleted` (GUESS). A `start_time` request that finds nothing
answers null cursors (GUESS [NEW: a post on Zendesk's community forum]); a `cursor` request
that finds nothing echoes its cursor (GUESS). A ticket is `id, created_at, updated_at,
generated_timestamp, subject, raw_subject, description, priority, status, requester_id,
assignee_id, tags, custom_fields` [ZD-OAS example], `custom_fields` as `[{"id", "value"}]`
[ZD-OAS] listing every field, unset ones as null, with made-up ids (`shapes.CUSTOM_FIELDS`;
GUESS).

Comments: `GET /api/v2/incremental/ticket_events.json?start_time=&include=comment_events`
[ZD-OAS; DLT-ZD], time-based [ZD-IEG]: `{"ticket_events", "count", "end_time", "next_page",
"end_of_stream"}` [ZD-OAS]. Every stored comment version is one event (GUESS: a real desk has
other events too) `{id, ticket_id, timestamp, created_at, updater_id, via, via_reference_id,
event_type: "Audit", child_events: [comment]}` (GUESS but `ticket_id` and `timestamp`, which
Airbyte copies from it [AB-ZD `TicketComments`]); the comment is the documented child `{id, via,
via_reference_id, type, author_id, body, html_body, public, attachments, audit_id, created_at,
event_type: "Comment"}` [ZD-OAS], its `id` the comment's. Without the side-load the child holds
only `comment_present` and `comment_public` [ZD-OAS] (its other keys GUESS). `end_time` is the
last event's `timestamp` and `next_page` asks for `start_time=end_time` (keeping `include` and
`per_page` [ZD-OAS example]), so events at that second come again: duplicates at page
boundaries [dlt-hub/verified-sources #659; zenpy #451], and a page whose events all share one
second names its own `start_time` again, forever [estuary/connectors #2007]. `next_page` is
there on the last page too [ZD-OAS; zenpy #451]. `per_page` as for tickets [facetoe/zenpy #433].
Soft-deleted comments are served as they are: Zendesk comments have no deleted state (GUESS).

Errors (bodies GUESS, `{"error", "description"}`): 400 `InvalidValue` for a missing or malformed
`start_time`, `cursor` or `per_page`; 400 `StartTimeTooRecent` [AB-ZD; airbytehq/airbyte #23246]
for a `start_time` within the last minute [amp-labs/connectors #1402] (unless it is not after
the newest record, see below) or in the future. Unknown parameters are ignored (GUESS).

Rate limits: every answer past auth carries `X-Rate-Limit: 700` and `X-Rate-Limit-Remaining`,
counting down this desk-clock minute [ZD-RL; ZD-BP; 700 is their example, the Enterprise plan
[ZD-PLAN]]; nothing is enforced. Under `rate_budget` the budget is the fault's and enforced:
over it, the same 429 with `Retry-After` until the window ends; advertised, the two headers
carry its numbers, with the list endpoints' `ratelimit-limit`, `ratelimit-remaining` and
`ratelimit-reset` (seconds) [ZD-BP; that the exports carry them too is a GUESS]; hidden,
no rate-limit header at all. `rate_limit` answers 429 `text/plain` `Number of allowed API
requests per minute exceeded`, `Retry-After: {retry_after}` in seconds, remaining 0 [ZD-RL;
ZD-429]. `server_errors`, `outage` and `slow` act as in the reference app (bodies GUESS).
`live_updates`, before a ticket page asked by `cursor` or an event page whose `start_time` is
not 0, moves `per_page` records from before that point to the end of the export's order, as an
agent's edit does.

Deleted tickets: `GET /api/v2/deleted_tickets` lists the soft-deleted tickets (the trash) by
cursor pagination, the sources in `deleted`; its faults are the exports' but `live_updates`.

Deviations, so tests need no waiting: Zendesk holds back the last minute's changes [ZD-IEG;
NEW: support.zendesk.com/hc/articles/8143500919322]; this emulator serves everything. Instead
it never hands out a ticket cursor inside the desk's current second: such a cursor is set back
to the end of the second before, so the next request reads that second again and a change made
later in it, to a lower id, is not skipped (a page full of one live second repeats until the
second passes). For the same reason a recent `start_time` is refused only when it lies after
the newest record, so an `end_time` this desk gave out is always accepted. Not emulated: the
time-based ticket export, per-ticket comments, side-loads, roles (403),
`schema_drift`, `missing_id`, `malformed_page`, `missing_data_key` and hostile cases.
"""

import asyncio
import base64
import binascii
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import orjson

from support_assets.sandbox.asgi import JSON, Headers, Receive, Response, error, read_body
from support_assets.sandbox.rate import Grant
from support_assets.sandbox.vendors.zendesk import deleted, export, shapes

if TYPE_CHECKING:
    from support_assets.sandbox.app import SandboxApp
    from support_assets.sandbox.state import Sandbox, Stats

TOKEN_PATH = "/oauth/tokens"
RATE_LIMIT = 700
_RESOURCES = {export.TICKETS_PATH: "tickets", export.EVENTS_PATH: "comments"}
_NO_AUTH = b'{"error":"Couldn\'t authenticate you"}'
_DEAD_TOKEN = orjson.dumps(
    {
        "error": "invalid_token",
        "error_description": "The access token provided is expired, revoked, malformed or"
        " invalid for other reasons.",
    }
)
_BAD_CLIENT = orjson.dumps(
    {
        "error": "invalid_client",
        "error_description": "Client authentication failed due to unknown client, no client"
        " authentication included, or unsupported authentication method.",
    }
)
_RATE_LIMITED = b"Number of allowed API requests per minute exceeded"


class Zendesk:
    """The Zendesk emulator; one instance serves the process's sandbox through its resets."""

    name = "zendesk"

    def __init__(self) -> None:
        # (the stats it counts for, the desk-clock minute, requests in it): a reset or a
        # stats reset starts the count again.
        self._minute: tuple[Stats | None, int, int] = (None, -1, 0)

    async def handle(
        self, app: "SandboxApp", scope: dict[str, Any], receive: Receive
    ) -> Response | None:
        """Answer the token route and the two exports; None for any other path."""
        path = scope["path"].removesuffix(".json")
        if path == TOKEN_PATH:
            return await self._token(app.sandbox, scope, receive)
        resource = _RESOURCES.get(path)
        if resource is None and path != deleted.PATH:
            return None
        if scope["method"] != "GET":
            return error(405, "method_not_allowed", "use GET")
        sandbox = app.sandbox
        faults = sandbox.faults
        refusal = _refusal(sandbox, scope)
        if refusal is not None:
            slow = faults.active.get("slow")
            if slow and slow["unauthorized"]:
                sandbox.stats.fault("slow")
                await asyncio.sleep(slow["delay"])
            return 401, JSON, refusal
        pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        if resource is None:  # the trash
            return await self._trash(app, scope, pairs, path)
        try:
            query = export.parse(resource, pairs, sandbox)
        except export.Invalid as exc:
            body = orjson.dumps({"error": exc.code, "description": str(exc)})
            return 400, [*JSON, *self._limits(sandbox)], body
        grant, failure = await self._admit(sandbox, query, path, pairs)
        if failure is not None:
            return failure
        page = export.tickets_page if resource == "tickets" else export.events_page
        return 200, [*JSON, *self._limits(sandbox, grant=grant)], page(sandbox, query, app.url)

    async def _trash(
        self, app: "SandboxApp", scope: dict[str, Any], pairs: list[tuple[str, str]], path: str
    ) -> Response:
        """`deleted_tickets`: one page of the trash, through the faults the exports get."""
        sandbox = app.sandbox
        grant, failure = await self._admit(sandbox, None, path, pairs)
        if failure is not None:
            return failure
        try:
            body = deleted.page(sandbox, scope["query_string"], app.url)
        except export.Invalid as exc:
            body = orjson.dumps({"error": exc.code, "description": str(exc)})
            return 400, [*JSON, *self._limits(sandbox)], body
        return 200, [*JSON, *self._limits(sandbox, grant=grant)], body

    async def _admit(
        self,
        sandbox: "Sandbox",
        query: export.Query | None,
        path: str,
        pairs: list[tuple[str, str]],
    ) -> tuple[Grant | None, Response | None]:
        """The rate budget's grant and the active faults, for any listing: a failure, or None."""
        faults = sandbox.faults
        grant = faults.budget.take() if faults.budget is not None else None
        if grant is not None and not grant.allowed:
            sandbox.stats.fault("rate_budget")
            return grant, self._throttled(sandbox, grant.reset, grant)
        if faults.active:
            url = f"GET {path}?{urlencode(sorted(pairs))}"
            return grant, await self._faults(sandbox, query, url, grant)
        return grant, None

    def truth(self, sandbox: "Sandbox", resource: str) -> bytes:
        """Every ticket, or every comment with its `ticket_id`, in the export's shape and order."""
        target = sandbox.collections[resource]
        pairs = zip(target.rows, target.keys, strict=True)
        if resource == "tickets":
            return b"[" + b",".join(shapes.ticket(row, key) for row, key in pairs) + b"]"
        return orjson.dumps([shapes.truth_comment(row, key) for row, key in pairs])

    async def _token(self, sandbox: "Sandbox", scope: dict[str, Any], receive: Receive) -> Response:
        """OAuth client credentials, the credentials in a JSON or form body."""
        if scope["method"] != "POST":
            return error(405, "method_not_allowed", "use POST")
        try:
            form = _body_params(scope, await read_body(receive))
        except ValueError:
            return error(400, "invalid_request", "the body is neither a JSON object nor a form")
        config = sandbox.config
        given = (form.get("client_id"), form.get("client_secret"))
        if given != (config.client_id, config.client_secret):
            return 401, JSON, _BAD_CLIENT
        grant = form.get("grant_type")
        if grant is None:
            return error(400, "invalid_request", "grant_type is required")
        if grant != "client_credentials":
            return error(400, "unsupported_grant_type")
        body: dict[str, Any] = {
            "access_token": sandbox.grant_token(),
            "token_type": "bearer",
            "scope": form.get("scope") or "read",
            "expires_in": config.token_ttl,
        }
        if "no_access_token" in sandbox.faults.active:  # a 200 that grants nothing
            sandbox.stats.fault("no_access_token")
            del body["access_token"]
        return 200, [*JSON, (b"cache-control", b"no-store")], orjson.dumps(body)

    async def _faults(
        self, sandbox: "Sandbox", query: export.Query | None, url: str, grant: Grant | None
    ) -> Response | None:
        """Apply the active faults in the reference app's order: a failure, or None."""
        faults, stats = sandbox.faults, sandbox.stats
        if "slow" in faults.active:
            stats.fault("slow")
            await asyncio.sleep(faults.active["slow"]["delay"])
        if faults.in_outage():
            stats.fault("outage")
            return 503, JSON, b'{"error":"outage","message":"the API is down"}'
        attempt = faults.attempt(url) if faults.keyed else 0
        failure = faults.transient(url, attempt)
        if failure is not None:
            name, status, headers, body = failure
            stats.fault(name)
            if name != "rate_limit":
                return status, headers, body
            return self._throttled(sandbox, int(faults.active["rate_limit"]["retry_after"]), grant)
        if "live_updates" in faults.active and query is not None:
            export.live_update(sandbox, query, url, attempt)
        return None

    def _throttled(self, sandbox: "Sandbox", wait: int, grant: Grant | None) -> Response:
        """Zendesk's 429: plain text, `Retry-After` in seconds, nothing remaining [ZD-429]."""
        headers = [(b"content-type", b"text/plain"), (b"retry-after", b"%d" % wait)]
        return 429, [*headers, *self._limits(sandbox, True, grant)], _RATE_LIMITED

    def _limits(
        self, sandbox: "Sandbox", limited: bool = False, grant: Grant | None = None
    ) -> Headers:
        """Zendesk's rate-limit headers: the `rate_budget`'s, else this desk-clock minute's."""
        if grant is None and sandbox.faults.budget is not None:
            return []  # a request the budget did not count (a 400) says nothing about it
        if grant is not None:
            if not grant.advertised:
                return []
            remaining = b"%d" % (0 if limited else grant.remaining)
            limit = b"%d" % grant.limit
            return [
                (b"x-rate-limit", limit),
                (b"x-rate-limit-remaining", remaining),
                (b"ratelimit-limit", limit),
                (b"ratelimit-remaining", remaining),
                (b"ratelimit-reset", b"%d" % grant.reset),
            ]
        minute = int(sandbox.faults.clock()) // 60
        stats, current, used = self._minute
        if stats is not sandbox.stats or current != minute:
            used = 0
        self._minute = (sandbox.stats, minute, used + 1)
        remaining = 0 if limited else max(0, RATE_LIMIT - used - 1)
        return [
            (b"x-rate-limit", b"%d" % RATE_LIMIT),
            (b"x-rate-limit-remaining", b"%d" % remaining),
        ]


def _refusal(sandbox: "Sandbox", scope: dict[str, Any]) -> bytes | None:
    """None when the request's credentials are good, else the 401 body to send."""
    for name, value in scope["headers"]:
        if name != b"authorization":
            continue
        scheme, _, credential = value.decode("latin-1").partition(" ")
        if scheme.lower() == "bearer":
            return None if sandbox.token_valid(credential.strip()) else _DEAD_TOKEN
        if scheme.lower() != "basic":
            return _NO_AUTH
        config = sandbox.config
        try:
            given = base64.b64decode(credential.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return _NO_AUTH
        return None if given == f"{config.client_id}/token:{config.client_secret}" else _NO_AUTH
    return _NO_AUTH


def _body_params(scope: dict[str, Any], raw: bytes) -> dict[str, str]:
    """The token request's string parameters, from a JSON object or a form.

    Raises:
        ValueError: a JSON body that is not an object.
    """
    content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
    if b"json" not in content_type:
        return dict(parse_qsl(raw.decode("latin-1"), errors="replace"))
    parsed = orjson.loads(raw or b"{}")  # orjson.JSONDecodeError is a ValueError
    if not isinstance(parsed, dict):
        raise ValueError("not an object")
    return {key: value for key, value in parsed.items() if isinstance(value, str)}


DESK = Zendesk()
