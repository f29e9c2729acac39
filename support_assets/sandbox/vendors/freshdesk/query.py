"""Freshdesk's side of a request: the key, the query's fields, validation errors, `Link`.

The sources and guesses behind each rule are in the package docstring.
"""

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from support_assets.sandbox.asgi import JSON, Response
from support_assets.sandbox.params import parse_rfc3339
from support_assets.sandbox.vendors.freshdesk.shapes import INCLUDES

TICKETS = "/api/v2/tickets"
MAX_PAGE = 300
DEFAULT_PER_PAGE, MAX_PER_PAGE = 30, 100
ORDER_BY = ("created_at", "due_by", "updated_at", "status")
ORDER_TYPE = ("asc", "desc")
FILTERS = ("new_and_my_open", "watching", "spam", "deleted")
LIST_FIELDS = ("updated_since", "order_by", "order_type", "filter", "include", "page", "per_page")
CONVERSATION_FIELDS = ("page", "per_page")
_PAGE_CAP = "You cannot access tickets beyond the 300th page. Please provide a smaller page number."

Error = tuple[str, str, str]  # field, message, code


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A validated tickets list request."""

    page: int
    per_page: int
    since: int | None
    order_by: str
    descending: bool
    filter: str | None
    include: tuple[str, ...]
    raw: str  # the query string as sent: the `Link` header repeats it

    @property
    def skip(self) -> int:
        """How many records the pages before this one hold."""
        return (self.page - 1) * self.per_page


def api_key(scope: dict[str, Any]) -> str | None:
    """The Basic username, which is where Freshdesk takes the API key; None without one."""
    for name, value in scope["headers"]:
        if name == b"authorization" and value[:6].lower() == b"basic ":
            try:
                decoded = base64.b64decode(value[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            return decoded.partition(":")[0]
    return None


def invalid(errors: list[Error]) -> Response:
    """Freshdesk's 400: every error of the request under `Validation failed`."""
    body = {
        "description": "Validation failed",
        "errors": [{"field": f, "message": m, "code": c} for f, m, c in errors],
    }
    return 400, JSON, orjson.dumps(body)


def _pairs(query_string: bytes) -> list[tuple[str, str]]:
    return parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, errors="replace")


def fields(query_string: bytes, allowed: tuple[str, ...]) -> tuple[dict[str, str], list[Error]]:
    """The query's fields (a repeated one keeps its last value) and one error per unknown."""
    pairs = _pairs(query_string)
    unknown = dict.fromkeys(key for key, _ in pairs if key not in allowed)
    message = "Unexpected/invalid field in request"
    return dict(pairs), [(key, message, "invalid_field") for key in unknown]


def paging(given: dict[str, str], errors: list[Error], cap: int | None) -> tuple[int, int]:
    """`page` and `per_page`, their defaults when absent; errors appended when invalid."""
    values = []
    for name, default in (("page", 1), ("per_page", DEFAULT_PER_PAGE)):
        raw = given.get(name)
        value = default
        if raw is not None:
            if raw.isascii() and raw.isdigit() and len(raw) <= 18 and int(raw) > 0:
                value = int(raw)
            else:
                errors.append((name, "It should be a/an Positive Integer", "datatype_mismatch"))
        if name == "page" and cap is not None and value > cap:
            errors.append((name, _PAGE_CAP, "invalid_value"))
        if name == "per_page" and value > MAX_PER_PAGE:
            message = f"Has to be less than or equal to {MAX_PER_PAGE}"
            errors.append((name, message, "invalid_value"))
        values.append(value)
    return values[0], values[1]


def canonical(path: str, query_string: bytes) -> str:
    """Method, path and sorted query: the same URL however a client orders its fields.

    It keys the fault decisions, as the reference contract's URLs do.
    """
    return f"GET {path}?{urlencode(sorted(_pairs(query_string)))}"


def parse_list_query(query_string: bytes) -> ListQuery | Response:
    """Validate a tickets list request; a 400 in Freshdesk's shape when it is not valid."""
    given, errors = fields(query_string, LIST_FIELDS)
    page, per_page = paging(given, errors, MAX_PAGE)
    since = None
    if "updated_since" in given:
        try:
            since = parse_rfc3339(given["updated_since"])
        except (ValueError, OverflowError):
            message = "It should be in the 'valid date time' format"
            errors.append(("updated_since", message, "invalid_value"))
    include = tuple(dict.fromkeys(given["include"].split(","))) if "include" in given else ()
    chosen = {
        "order_by": (given.get("order_by", "created_at"),),
        "order_type": (given.get("order_type", "desc"),),
        "filter": (given["filter"],) if "filter" in given else (),
        "include": include,
    }
    for name, choices in (
        ("order_by", ORDER_BY),
        ("order_type", ORDER_TYPE),
        ("filter", FILTERS),
        ("include", INCLUDES),
    ):
        if any(value not in choices for value in chosen[name]):
            message = f"It should be one of these values: '{','.join(choices)}'"
            errors.append((name, message, "invalid_value"))
    if errors:
        return invalid(errors)
    return ListQuery(
        page=page,
        per_page=per_page,
        since=since,
        order_by=chosen["order_by"][0],
        descending=chosen["order_type"][0] == "desc",
        filter=given.get("filter"),
        include=include,
        raw=query_string.decode("latin-1"),
    )


def next_link(url: str, raw: str, page: int) -> tuple[bytes, bytes]:
    """The `Link` header to page `page + 1`: the request's own query, its `page` replaced."""
    parts = [p for p in raw.split("&") if p and p != "page" and not p.startswith("page=")]
    query = "&".join([*parts, f"page={page + 1}"])
    return b"link", f'<{url}?{query}>; rel="next"'.encode()
