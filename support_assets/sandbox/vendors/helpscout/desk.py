"""The Help Scout desk's HTTP side: the token endpoint, the data routes, errors and faults.

The behaviours and their sources are listed in the package docstring.
"""

import asyncio
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import orjson

from support_assets.sandbox.asgi import JSON, Headers, Receive, Response, error, read_body
from support_assets.sandbox.data import ID_MASK
from support_assets.sandbox.params import parse_rfc3339
from support_assets.sandbox.rate import Grant
from support_assets.sandbox.vendors.helpscout.conversations import (
    FILTERS,
    SORT_FIELDS,
    Conversations,
    hal_page,
)

if TYPE_CHECKING:
    from support_assets.sandbox.app import SandboxApp
    from support_assets.sandbox.state import Sandbox

TOKEN_PATH = "/v2/oauth2/token"
CONVERSATIONS_PATH = "/v2/conversations"
PAGE_SIZE = 25  # List Conversations [HS-PAG]
THREADS_PAGE_SIZE = 50  # other lists [HS-PAG]; for threads a GUESS
RATE_LIMIT = 400  # per minute; Help Scout does not publish its plans' numbers (GUESS)

_ONE = re.compile(r"/v2/conversations/(\d{1,10})(/threads)?")
_LIST_PARAMS = ("status", "sortField", "sortOrder", "modifiedSince", "page", "embed")
_HAL: Headers = [(b"content-type", b"application/hal+json")]
_VND: Headers = [(b"content-type", b"application/vnd.error+json")]
_NOT_FOUND: Response = (404, _VND, b'{"message":"Resource not found"}')
_TOO_MANY = b'{"message":"Too many requests"}'
_INVALID_CLIENT = b'{"error":"invalid_client","error_description":"Invalid client authentication"}'
_INVALID_TOKEN: Response = (
    401,
    [*JSON, (b"www-authenticate", b'Bearer realm="api", error="invalid_token"')],
    b'{"error":"invalid_token","error_description":"Invalid access token"}',
)
_OUTAGE: Response = (503, JSON, b'{"error":"outage","message":"the API is down"}')


class Invalid(ValueError):
    """A parameter Help Scout refuses; `response` is its 400 in the vnd.error shape."""

    def __init__(self, path: str, message: str, value: str) -> None:
        super().__init__(message)
        ref = hashlib.blake2b(f"{path}={value}".encode(), digest_size=8).hexdigest()
        error = {"path": path, "message": message, "rejectedValue": value}
        body = {"logRef": ref, "message": "Bad request", "_embedded": {"errors": [error]}}
        self.response: Response = 400, _VND, orjson.dumps(body)


@dataclass(frozen=True, slots=True)
class Request:
    """A validated data request: route, page, embedding and, for the list, filter and order."""

    route: str  # "list", "conversation" or "threads"
    ident: int | None  # the conversation of the last two
    pairs: list[tuple[str, str]]
    page: int
    embed: bool
    status: str = "active"
    since: int | None = None
    sort: str = "createdAt"
    descending: bool = True


def parse_request(route: str, ident: int | None, query_string: bytes) -> Request:
    """Validate a data request's query; unknown parameters are ignored, as `size` is.

    Raises:
        Invalid: a parameter is malformed, not one of its values, or given twice.
    """
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, errors="replace")
    known = _LIST_PARAMS if route == "list" else ("page", "embed")
    seen: dict[str, str] = {}
    for key, value in pairs:
        if key in seen and key in known:
            raise Invalid(key, f"{key} is given more than once", value)
        seen[key] = value
    raw = seen.get("page", "1")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9 and int(raw) >= 1):
        raise Invalid("page", "page must be a whole number from 1", raw)
    embed = "threads" in seen.get("embed", "").split(",")
    if route != "list":
        return Request(route, ident, pairs, int(raw), embed)
    since = seen.get("modifiedSince")
    try:
        modified_since = None if since is None else parse_rfc3339(since)
    except (ValueError, OverflowError):
        message = "modifiedSince must be a date-time such as 2024-05-01T12:00:00Z"
        raise Invalid("modifiedSince", message, since or "") from None
    return Request(
        route,
        ident,
        pairs,
        int(raw),
        embed,
        _choice(seen, "status", "active", FILTERS),
        modified_since,
        _choice(seen, "sortField", "createdAt", SORT_FIELDS),
        _choice(seen, "sortOrder", "desc", ("asc", "desc")) == "desc",
    )


def _choice(seen: dict[str, str], name: str, default: str, allowed: Iterable[str]) -> str:
    value = seen.get(name, default)
    if value not in allowed:
        raise Invalid(name, f"{name} must be one of {', '.join(allowed)}", value)
    return value


class HelpScout:
    """The Help Scout desk: token endpoint, conversations and threads."""

    name = "helpscout"

    def __init__(self) -> None:
        self._view: Conversations | None = None
        self._minute = (0, 0)  # (clock minute, data requests in it)

    def conversations(self, sandbox: "Sandbox") -> Conversations:
        """The conversation index over the store as it is now."""
        view = self._view
        if view is None or not view.current(sandbox):
            view = self._view = Conversations(sandbox)
        return view

    async def handle(
        self, app: "SandboxApp", scope: dict[str, Any], receive: Receive
    ) -> Response | None:
        """Answer the token endpoint and the conversation routes; None for anything else."""
        path = scope["path"]
        if path == TOKEN_PATH:
            return await self._token(app.sandbox, scope, receive)
        if path == CONVERSATIONS_PATH:
            route, ident = "list", None
        else:
            match = _ONE.fullmatch(path)
            if match is None:
                return None
            route, ident = ("threads" if match[2] else "conversation"), int(match[1])
        grants: list[Grant] = []
        status, headers, body = await self._data(app, scope, route, ident, grants)
        return status, [*headers, *self._rate_headers(app.sandbox, status, grants)], body

    def truth(self, sandbox: "Sandbox", resource: str) -> bytes:
        """Published conversations (tickets), or their threads with `ticket_id` (comments)."""
        view = self.conversations(sandbox)
        ids = [key & ID_MASK for key in view.keys]
        if resource == "tickets":
            return b"[" + b",".join(view.conversation(ident) for ident in ids) + b"]"
        rows = []
        for ident in ids:
            for blob in view.threads(ident):
                thread = orjson.loads(blob)
                thread["ticket_id"] = ident
                rows.append(thread)
        return orjson.dumps(rows)

    async def _token(self, sandbox: "Sandbox", scope: dict[str, Any], receive: Receive) -> Response:
        """OAuth2 client credentials with the credentials in the body (form or JSON)."""
        if scope["method"] != "POST":
            return error(405, "method_not_allowed", "use POST")
        raw = await read_body(receive)
        headers = dict(scope["headers"])
        if headers.get(b"authorization", b"")[:6].lower() == b"basic ":
            return 401, JSON, _INVALID_CLIENT  # GUESS: Basic client authentication is refused
        fields = dict(parse_qsl(scope["query_string"].decode("latin-1"), errors="replace"))
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        try:
            if media_type == b"application/json":
                body = orjson.loads(raw) if raw.strip() else {}
                if not isinstance(body, dict):
                    raise ValueError("not an object")
                fields.update({k: v if isinstance(v, str) else str(v) for k, v in body.items()})
            else:
                fields.update(parse_qsl(raw.decode("utf-8"), errors="strict"))
        except ValueError:
            return _oauth_error(400, "invalid_request", "The request body does not parse")
        missing = [k for k in ("grant_type", "client_id", "client_secret") if not fields.get(k)]
        if missing:
            return _oauth_error(400, "invalid_request", f"Missing {', '.join(missing)}")
        if fields["grant_type"] != "client_credentials":
            grant_type = fields["grant_type"]
            return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant: {grant_type}")
        config = sandbox.config
        if (fields["client_id"], fields["client_secret"]) != (
            config.client_id,
            config.client_secret,
        ):
            return 401, JSON, _INVALID_CLIENT
        grant = {
            "access_token": sandbox.grant_token(),
            "token_type": "Bearer",
            "expires_in": config.token_ttl,
        }
        if "no_access_token" in sandbox.faults.active:  # a 200 that grants nothing
            sandbox.stats.fault("no_access_token")
            del grant["access_token"]
        return 200, [*JSON, (b"cache-control", b"no-store")], orjson.dumps(grant)

    async def _data(
        self,
        app: "SandboxApp",
        scope: dict[str, Any],
        route: str,
        ident: int | None,
        grants: list[Grant],
    ) -> Response:
        """A data route through auth, validation and the faults, in the reference order.

        The `rate_budget`'s grant, when it counted the request, is added to `grants`.
        """
        sandbox = app.sandbox
        faults = sandbox.faults
        if scope["method"] != "GET":
            return error(405, "method_not_allowed", "use GET")
        if not _authorized(sandbox, scope):
            slow = faults.active.get("slow")
            if slow and slow["unauthorized"]:
                sandbox.stats.fault("slow")
                await asyncio.sleep(slow["delay"])
            return _INVALID_TOKEN
        try:
            request = parse_request(route, ident, scope["query_string"])
        except Invalid as exc:
            return exc.response
        if faults.budget is not None:
            grant = faults.budget.take()
            grants.append(grant)
            if not grant.allowed:
                sandbox.stats.fault("rate_budget")
                return 429, [*JSON, (b"x-ratelimit-retry-after", b"%d" % grant.reset)], _TOO_MANY
        if not faults.active:
            return self._serve(app, request)
        if "slow" in faults.active:
            sandbox.stats.fault("slow")
            await asyncio.sleep(faults.active["slow"]["delay"])
        if faults.in_outage():
            sandbox.stats.fault("outage")
            return _OUTAGE
        url = f"GET {scope['path']}?{urlencode(sorted(request.pairs))}"
        attempt = faults.attempt(url) if faults.keyed else 0
        failure = faults.transient(url, attempt)
        if failure:
            name, status, headers, body = failure
            sandbox.stats.fault(name)
            if name == "rate_limit":  # seconds in Help Scout's own header, no Retry-After
                wait = b"%d" % faults.active[name]["retry_after"]
                return status, [*JSON, (b"x-ratelimit-retry-after", wait)], _TOO_MANY
            return status, headers, body
        passed_some = request.page > 1 or request.since is not None
        if "live_updates" in faults.active and route == "list" and passed_some:
            self._live_update(sandbox, request, url, attempt)
        return self._serve(app, request)

    def _serve(self, app: "SandboxApp", request: Request) -> Response:
        sandbox = app.sandbox
        view = self.conversations(sandbox)
        page = request.page
        if request.route == "list":
            order = view.order(request.status, request.since, request.sort, request.descending)
            chosen = order.ids((page - 1) * PAGE_SIZE, page * PAGE_SIZE)
            render = view.embedded if request.embed else view.conversation
            items = [render(ident) for ident in chosen]
            base = app.url + CONVERSATIONS_PATH
            body = hal_page(
                base, request.pairs, "conversations", items, page, len(order), PAGE_SIZE
            )
            sandbox.page_served("tickets", len(items))
            if request.embed:
                threads = sum(len(view.threads(ident)) for ident in chosen)
                sandbox.stats.records_served["comments"] += threads
            return 200, _HAL, body
        ident = request.ident
        if ident is None or ident not in view.stamp:  # unknown, purged or soft-deleted
            return _NOT_FOUND
        if request.route == "conversation":
            body = view.embedded(ident) if request.embed else view.conversation(ident)
            sandbox.page_served("tickets", 1)
            return 200, _HAL, body
        threads = view.threads(ident)
        items = threads[(page - 1) * THREADS_PAGE_SIZE : page * THREADS_PAGE_SIZE]
        base = f"{app.url}{CONVERSATIONS_PATH}/{ident}/threads"
        body = hal_page(
            base, request.pairs, "threads", items, page, len(threads), THREADS_PAGE_SIZE
        )
        sandbox.page_served("comments", len(items))
        return 200, _HAL, body

    def _live_update(self, sandbox: "Sandbox", request: Request, url: str, attempt: int) -> None:
        """Edit records the client has passed, stamped past every conversation: they move."""
        tickets = sandbox.collections["tickets"]
        for index in range(int(sandbox.faults.active["live_updates"]["per_page"])):
            view = self.conversations(sandbox)
            order = view.order(request.status, request.since, request.sort, request.descending)
            # Passed: the earlier pages of this read, and (ascending by modification) every
            # conversation before its `modifiedSince`, which a re-seeking client has read.
            before = order.lo if not order.descending else 0
            passed = min(before + (request.page - 1) * PAGE_SIZE, len(order.keys))
            if passed <= 0:
                return
            position = sandbox.faults.pick(url, attempt, index, passed)
            if order.descending:
                ident = order.ids(position, position + 1)[0]
            else:
                ident = order.keys[position] & ID_MASK
            stamp = sandbox.stamp(tickets)
            if "desk_clock" not in sandbox.faults.active:  # a late desk clock stamps behind
                stamp = max(stamp, view.newest())
            tickets.revise(ident, stamp)
            view.touch(ident)
            sandbox.stats.fault("live_updates")

    def _rate_headers(self, sandbox: "Sandbox", status: int, grants: list[Grant]) -> Headers:
        """Help Scout's per-minute headers: the `rate_budget`'s, else shown, never enforced."""
        if sandbox.faults.budget is not None:
            if not grants or not grants[0].advertised:
                return []
            remaining = 0 if status == 429 else grants[0].remaining
            return [
                (b"x-ratelimit-limit-minute", b"%d" % grants[0].limit),
                (b"x-ratelimit-remaining-minute", b"%d" % remaining),
            ]
        minute = int(sandbox.faults.clock()) // 60
        used = self._minute[1] + 1 if self._minute[0] == minute else 1
        self._minute = (minute, used)
        remaining = 0 if status == 429 else max(0, RATE_LIMIT - used)
        return [
            (b"x-ratelimit-limit-minute", b"%d" % RATE_LIMIT),
            (b"x-ratelimit-remaining-minute", b"%d" % remaining),
        ]


def _oauth_error(status: int, code: str, description: str) -> Response:
    return status, JSON, orjson.dumps({"error": code, "error_description": description})


def _authorized(sandbox: "Sandbox", scope: dict[str, Any]) -> bool:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return scheme.lower() == "bearer" and sandbox.token_valid(token.strip())
    return False


DESK = HelpScout()
