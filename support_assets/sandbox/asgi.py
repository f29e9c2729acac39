"""ASGI plumbing shared by the API routes and the control routes."""

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

Headers = list[tuple[bytes, bytes]]
Response = tuple[int, Headers, bytes]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

JSON: Headers = [(b"content-type", b"application/json")]


def json_response(body: object, status: int = 200) -> Response:
    """Serialize `body` as a JSON response."""
    return status, JSON, orjson.dumps(body)


def error(status: int, code: str, message: str | None = None) -> Response:
    """Build a JSON error response in the contract's shape."""
    body: dict[str, str] = {"error": code}
    if message:
        body["message"] = message
    return json_response(body, status)


async def read_body(receive: Receive) -> bytes:
    """Read a whole request body; bodies here are small forms and JSON."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)
