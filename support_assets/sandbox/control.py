"""The control API under `/_sandbox/`: what tests, demos and benchmarks drive the server with.

It can rewrite all data and read every record, so it answers loopback clients only, even
when the sandbox listens on another interface.
"""

import ipaddress
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson

from support_assets.sandbox.asgi import Receive, Response, error, json_response, read_body
from support_assets.sandbox.data import rfc3339
from support_assets.sandbox.faults import FaultError
from support_assets.sandbox.hostile import Hostile, parse_case
from support_assets.sandbox.state import RESOURCES, Config, Sandbox, Stats

if TYPE_CHECKING:
    from support_assets.sandbox.app import SandboxApp

_RESET_KEYS = set(Config.__dataclass_fields__)


def _is_loopback(scope: dict[str, Any]) -> bool:
    client = scope.get("client")
    if client is None:  # a Unix socket: local by construction
        return True
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


async def handle(app: "SandboxApp", scope: dict[str, Any], receive: Receive) -> Response:
    """Route one control request; errors come back as JSON with a message."""
    if not _is_loopback(scope):
        return error(403, "forbidden", "the control API answers loopback clients only")
    sandbox = app.sandbox
    route = (scope["method"], scope["path"].removeprefix("/_sandbox/"))
    raw = await read_body(receive) if scope["method"] in ("POST", "PUT") else b""
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as exc:
        return error(400, "invalid_request", f"body is not JSON: {exc}")
    if not isinstance(body, dict):
        return error(400, "invalid_request", "body must be a JSON object")
    try:
        return _dispatch(app, sandbox, route, body, scope)
    except (ValueError, TypeError, FaultError) as exc:
        return error(400, "invalid_request", str(exc))


def _dispatch(
    app: "SandboxApp",
    sandbox: Sandbox,
    route: tuple[str, str],
    body: dict[str, Any],
    scope: dict[str, Any],
) -> Response:
    match route:
        case ("GET", "health"):
            return json_response(_health(app, sandbox))
        case ("POST", "reset"):
            unknown = set(body) - _RESET_KEYS
            if unknown:
                raise ValueError(f"unknown reset field(s): {', '.join(sorted(unknown))}")
            sandbox.reset(**body)
            return json_response(_health(app, sandbox))
        case ("POST", "faults"):
            faults = body.get("faults", [])
            if not isinstance(faults, list):
                raise ValueError('body must be {"faults": [name or {"name": ..., ...}, ...]}')
            sandbox.set_faults(tuple(faults))
            return json_response({"faults": sandbox.faults.describe()})
        case ("POST", "hostile"):
            sandbox.hostile = Hostile(parse_case(case) for case in body.get("cases", []))
            return json_response({"cases": len(sandbox.hostile.cases)})
        case ("DELETE", "hostile"):
            sandbox.hostile = Hostile()
            return json_response({"cases": 0})
        case ("DELETE", "faults"):
            sandbox.set_faults(())
            return json_response({"faults": []})
        case ("POST", "revoke"):
            revoked = len(sandbox.tokens)
            sandbox.revoke_tokens()
            return json_response({"revoked": revoked})
        case ("POST", "mutate"):
            resource, action = body.get("resource", ""), body.get("action", "")
            ids = sandbox.mutate(resource, action, body.get("count", 0), body.get("ids"))
            return json_response({"ids": ids})
        case ("GET", "truth"):
            resource = dict(parse_qsl(scope["query_string"].decode("latin-1"))).get("resource")
            if resource not in RESOURCES:
                raise ValueError(f"resource must be one of {', '.join(RESOURCES)}")
            return 200, [(b"content-type", b"application/json")], sandbox.truth(resource)
        case ("GET", "stats"):
            return json_response(sandbox.stats.snapshot())
        case ("GET", "log"):
            return json_response(sandbox.stats.requests_log())
        case ("DELETE", "stats"):
            sandbox.stats = Stats()
            return json_response({})
    return error(404, "not_found", f"no control route {' '.join(route)}")


def _health(app: "SandboxApp", sandbox: Sandbox) -> dict[str, Any]:
    config = sandbox.config
    return {
        "status": "ok",
        "url": app.url,
        "tickets": len(sandbox.collections["tickets"]),
        "comments": len(sandbox.collections["comments"]),
        "seed": config.seed,
        "anchor": rfc3339(sandbox.anchor),
        "token_ttl": config.token_ttl,
        "vendor": config.vendor,
        "faults": sandbox.faults.describe(),
    }
