"""The HTTP layer: a raw ASGI app serving the token endpoint, the collections and the spec.

Raw ASGI rather than Starlette: a data page is a token lookup, two bisects, a list slice
and one bytes join, about 16 microseconds; Starlette's routing, `Request` and `Response`
add about 10 more, over half again the app's own time, for five fixed routes that a dict
and an if-chain route as clearly. uvicorn with httptools and uvloop does the HTTP.
"""

import asyncio
import base64
import binascii
import re
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from support_assets.sandbox import control
from support_assets.sandbox.asgi import JSON, Receive, Response, Send, error, read_body
from support_assets.sandbox.faults import drift, drift_blob
from support_assets.sandbox.params import BadRequest, PageQuery, parse_page_query
from support_assets.sandbox.state import Sandbox
from support_assets.sandbox.vendors import desk

COLLECTIONS = {
    "/v1/tickets": ("tickets", b"tickets"),
    "/v1/ticket_comments": ("comments", b"comments"),
}
_INVALID_TOKEN: Response = (
    401,
    [*JSON, (b"www-authenticate", b'Bearer error="invalid_token"')],
    b'{"error":"invalid_token"}',
)
_MALFORMED = b"<!DOCTYPE html><html><body><h1>We'll be right back</h1></body></html>"


class SandboxApp:
    """ASGI entry point over one `Sandbox`."""

    def __init__(self, sandbox: Sandbox, url: str) -> None:
        self.sandbox = sandbox
        self.url = url
        self._spec_yaml = _spec_with_server(url)
        self._in_flight = 0  # here, not in the stats: a stats reset mid-request keeps it

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """Dispatch one request and count it in the stats (control API excepted)."""
        if scope["type"] != "http":
            return
        if scope["path"].startswith("/_sandbox/"):
            await self._answer(scope, receive, send)
            return
        # One event loop answers every request: the counter needs no lock.
        self._in_flight += 1
        stats = self.sandbox.stats
        stats.max_in_flight = max(stats.max_in_flight, self._in_flight)
        try:
            await self._answer(scope, receive, send)
        finally:
            self._in_flight -= 1

    async def _answer(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        emulator = desk(self.sandbox.config.vendor)
        if path.startswith("/_sandbox/"):
            status, headers, body = await control.handle(self, scope, receive)
        elif emulator is not None:
            answer = await emulator.handle(self, scope, receive)
            if answer is None:
                answer = error(404, "not_found", f"no route {path} on {emulator.name}")
            status, headers, body = answer
            self.sandbox.stats.request(f"{method} {path}", status)
        else:
            if path in COLLECTIONS:
                status, headers, body = await self.collection(scope, *COLLECTIONS[path])
            elif path == "/oauth/token":
                status, headers, body = await self.token(scope, receive)
            elif path in ("/openapi.yaml", "/openapi.json"):
                status, headers, body = self.spec(method, path)
            else:
                status, headers, body = error(404, "not_found", f"no route {path}")
            self.sandbox.stats.request(f"{method} {path}", status)
        headers = [
            *headers,
            (b"content-length", str(len(body)).encode()),
            (b"date", self.sandbox.http_date()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def token(self, scope: dict[str, Any], receive: Receive) -> Response:
        """OAuth2 client credentials (RFC 6749 4.4), Basic or form credentials."""
        if scope["method"] != "POST":
            return error(405, "method_not_allowed", "use POST")
        form = dict(parse_qsl((await read_body(receive)).decode("latin-1"), errors="replace"))
        config = self.sandbox.config
        basic = _basic_credentials(scope)
        expected = (config.client_id, config.client_secret)
        if basic is not None:
            # RFC 6749 2.3.1 form-encodes id and secret before Base64; many clients do not.
            accepted = expected in (basic, tuple(unquote(part.replace("+", " ")) for part in basic))
        else:
            accepted = (form.get("client_id"), form.get("client_secret")) == expected
        if not accepted:
            status, headers, body = error(401, "invalid_client")
            if basic:  # RFC 6749 5.2: answer Basic with a Basic challenge
                headers = [*headers, (b"www-authenticate", b'Basic realm="sandbox"')]
            return status, headers, body
        grant = form.get("grant_type")
        if grant is None:
            return error(400, "invalid_request", "grant_type is required")
        if grant != "client_credentials":
            return error(400, "unsupported_grant_type")
        body = {
            "access_token": self.sandbox.grant_token(),
            "token_type": "Bearer",
            "expires_in": config.token_ttl,
        }
        if "no_access_token" in self.sandbox.faults.active:  # a 200 that grants nothing
            self.sandbox.stats.fault("no_access_token")
            del body["access_token"]
        return 200, [*JSON, (b"cache-control", b"no-store")], orjson.dumps(body)

    async def collection(self, scope: dict[str, Any], resource: str, selector: bytes) -> Response:
        """One page of a collection, through auth, validation and the active faults."""
        if scope["method"] != "GET":
            return error(405, "method_not_allowed", "use GET")
        if not self._authorized(scope):
            slow = self.sandbox.faults.active.get("slow")
            if slow and slow["unauthorized"]:
                self.sandbox.stats.fault("slow")
                await asyncio.sleep(slow["delay"])
            return _INVALID_TOKEN
        try:
            query = parse_page_query("GET", scope["path"], scope["query_string"])
        except BadRequest as exc:
            return error(400, "invalid_request", str(exc))
        sandbox = self.sandbox
        faults = sandbox.faults
        if not faults.active:
            return self._page(resource, selector, query)
        if "slow" in faults.active:
            sandbox.stats.fault("slow")
            await asyncio.sleep(faults.active["slow"]["delay"])
        if faults.in_outage():
            sandbox.stats.fault("outage")
            return 503, JSON, b'{"error":"outage","message":"the API is down"}'
        url = query.url
        attempt = faults.attempt(url) if faults.keyed else 0
        failure = faults.transient(url, attempt)
        if failure:
            name, status, headers, body = failure
            sandbox.stats.fault(name)
            return status, headers, body
        if "live_updates" in faults.active and query.offset > 0:
            self._live_update(resource, query, url, attempt)
        for name in ("malformed_page", "missing_data_key"):
            params = faults.active.get(name)
            if params and query.offset == params["offset"]:
                sandbox.stats.fault(name)
                if name == "malformed_page":
                    return 200, [(b"content-type", b"text/html; charset=utf-8")], _MALFORMED
                lo, hi = sandbox.collections[resource].window(query.since, query.before)
                body = {"total": hi - lo, "offset": query.offset, "limit": query.limit}
                return 200, JSON, orjson.dumps(body)
        return self._page(resource, selector, query)

    def _page(self, resource: str, selector: bytes, query: PageQuery) -> Response:
        sandbox = self.sandbox
        target = sandbox.collections[resource]
        lo, hi = target.window(query.since, query.before)
        start = min(hi, lo + query.offset)
        stop = min(hi, start + query.limit)
        records = target.rows[start:stop]
        faults = sandbox.faults
        if faults.active and (faults.drifting or "missing_id" in faults.active):
            pairs = zip(target.ids(start, stop), records, strict=True)
            records = [self._faulty(resource, ident, row) for ident, row in pairs]
            if faults.drifting:
                sandbox.stats.fault("schema_drift")
        if sandbox.hostile:
            records = sandbox.hostile.records(resource, target.ids(start, stop), records)
        body = b'{"%b":[%b],"total":%d,"offset":%d,"limit":%d}' % (
            selector,
            b",".join(records),
            hi - lo,
            query.offset,
            query.limit,
        )
        if sandbox.hostile:
            body = sandbox.hostile.page(resource, query.offset, body)
        sandbox.page_served(resource, len(records))
        return 200, JSON, body

    def _faulty(self, resource: str, ident: int, blob: bytes) -> bytes:
        faults = self.sandbox.faults
        hide = faults.hides_id(resource, ident)
        if not hide:
            return drift_blob(resource, blob) if faults.drifting else blob
        self.sandbox.stats.fault("missing_id")
        record = orjson.loads(blob)
        if faults.drifting:
            record = drift(resource, record)
        del record["id"]
        return orjson.dumps(record)

    def _live_update(self, resource: str, query: PageQuery, url: str, attempt: int) -> None:
        """Move records from before the request's offset to the end of the order."""
        sandbox = self.sandbox
        target = sandbox.collections[resource]
        for index in range(int(sandbox.faults.active["live_updates"]["per_page"])):
            lo, hi = target.window(query.since, query.before)
            passed = min(query.offset, hi - lo)
            if passed <= 0:
                return
            position = lo + sandbox.faults.pick(url, attempt, index, passed)
            target.revise(target.ids(position, position + 1)[0], sandbox.stamp(target))
            sandbox.stats.fault("live_updates")

    def _authorized(self, scope: dict[str, Any]) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                return scheme.lower() == "bearer" and self.sandbox.token_valid(token.strip())
        return False

    def spec(self, method: str, path: str) -> Response:
        """Serve the contract's OpenAPI document, its `servers` pointing at this server."""
        if method != "GET":
            return error(405, "method_not_allowed", "use GET")
        if path == "/openapi.yaml":
            return 200, [(b"content-type", b"application/yaml")], self._spec_yaml
        try:
            import yaml  # only this route needs it: the YAML route serves text as is
        except ImportError:
            return error(501, "not_implemented", "GET /openapi.yaml, or install pyyaml")
        return 200, JSON, orjson.dumps(yaml.safe_load(self._spec_yaml))


def _basic_credentials(scope: dict[str, Any]) -> tuple[str, str] | None:
    """Decode HTTP Basic credentials as sent; None when the request has none."""
    for name, value in scope["headers"]:
        if name == b"authorization" and value[:6].lower() == b"basic ":
            try:
                decoded = base64.b64decode(value[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return ("", "")
            client_id, _, secret = decoded.partition(":")
            return client_id, secret
    return None


def _spec_with_server(url: str) -> bytes:
    text = resources.files("support_assets.sandbox").joinpath("openapi.yaml").read_text("utf-8")
    servers = f"servers:\n  - url: {url}\n"
    return re.sub(r"^servers:\n(?:  .*\n)+", lambda _: servers, text, flags=re.M).encode()
