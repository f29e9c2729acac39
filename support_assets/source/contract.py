"""The reference Support API contract: the desk's names, the columns, and the defaults.

Every name a vendor may spell differently (paths, data selectors, query parameters, the
cursor field) lives here with the reference contract's value as default, and so does
every tuning default of the source: the Dagster side's settings and the plain-dlt
source's arguments both start from these.
"""

import dataclasses
import datetime as dt
from typing import Any

# Defaults of the reference Support API contract.
TICKETS_RESOURCE = "support_tickets"
COMMENTS_RESOURCE = "ticket_comments"
RETRY_STATUSES: tuple[int, ...] = (429, 500, 502, 503, 504)


# How the source reads: the largest time slice read in one go (pages), how often a slice
# that changed while read is read on before giving up, and how long before a token's end
# it is renewed (seconds).
WINDOW_PAGES = 50
MAX_REREADS = 3
TOKEN_REFRESH_MARGIN_S = 60.0
# Requests in flight at once in a run, across both resources, the time parts of one and
# per-ticket children: 4 hides most of a real desk's 100-300 ms per page without looking
# like a burst to its rate limiter (SUPPORT_MAX_CONCURRENCY).
MAX_CONCURRENCY = 4
# Where history begins when nothing says otherwise.
DEFAULT_START_DATE = dt.date(2024, 1, 1)


# Kinds of the mechanisms a desk may use; each is a setting of its own (see settings.py).
AUTH_KINDS = ("oauth2", "basic", "bearer", "api_key")
OAUTH_CLIENT_AUTH = ("basic", "body")  # RFC 6749 2.3.1: HTTP Basic, or body parameters
PAGINATIONS = ("offset", "page_number", "stream")
# The credentials each auth kind reads: (the connection's field, the setting that holds it).
CREDENTIAL_SETTINGS: dict[str, tuple[tuple[str, str], ...]] = {
    "oauth2": (
        ("client_id", "SUPPORT_API_CLIENT_ID"),
        ("client_secret", "SUPPORT_API_CLIENT_SECRET"),
    ),
    "basic": (("username", "SUPPORT_API_USERNAME"), ("password", "SUPPORT_API_PASSWORD")),
    "bearer": (("api_token", "SUPPORT_API_TOKEN"),),
    "api_key": (("api_key", "SUPPORT_API_KEY"),),
}
CURSOR_FORMATS = ("rfc3339", "epoch")


@dataclasses.dataclass(frozen=True)
class EndpointNames:
    """How one collection is spelled by the vendor.

    `data_selector` is a key or a JSONPath (`_embedded.conversations`; `$` for a bare
    array). A comments `path` holding `{id}` (`/api/v2/tickets/{id}/conversations`) is read
    per ticket, for each ticket the run loaded, through `child_next_link`.
    """

    path: str
    data_selector: str
    # None: the desk's `cursor_field`.
    cursor_field: str | None = None
    # Fixed query parameters sent with every request (sort order, status filters).
    params: tuple[tuple[str, str], ...] = ()
    # The rows are held inside each listed record, in this list field (Zendesk's events hold
    # comments in `child_events`), those whose `field` has `value` only.
    nested: str | None = None
    nested_filter: tuple[str, str] | None = None
    # The parent's field holding the ticket id, copied into each nested row as the desk's
    # `ticket_key` (Zendesk's events carry `ticket_id`; a Help Scout conversation is `id`).
    nested_ticket_field: str = "ticket_id"

    @property
    def per_ticket(self) -> bool:
        """Whether this collection is read per ticket (a child of the tickets)."""
        return "{id}" in self.path


@dataclasses.dataclass(frozen=True)
class ApiNames:
    """The desk's names and mechanisms: everything the source sends or reads.

    A preset (`source/vendors/`) fills them for a known desk; every one is also a setting.
    """

    tickets: EndpointNames = EndpointNames("/v1/tickets", "tickets")
    comments: EndpointNames = EndpointNames("/v1/ticket_comments", "comments")
    pagination: str = "offset"
    offset_param: str = "offset"
    # None: never sent (the desk's own page size applies).
    limit_param: str | None = "limit"
    page_size: int = 100
    page_param: str = "page"
    first_page: int = 1
    # What says another page follows: "header" (a `Link: <...>; rel="next"`), a JSONPath to
    # a next link in the body, or None (only an empty page ends a read).
    next_link: str | None = None
    # A change stream's position: a JSONPath to the next cursor and the parameter that
    # sends it, or a JSONPath to the next URL; and a JSONPath to its end-of-stream flag.
    next_cursor_path: str | None = None
    cursor_param: str | None = None
    next_url_path: str | None = None
    end_path: str | None = None
    # None: the vendor sends no total; the read ends on the desk's own end signal.
    total_path: str | None = "total"
    primary_key: str = "id"
    cursor_field: str = "updated_at"
    cursor_format: str = "rfc3339"
    since_param: str = "updated_since"
    since_format: str = "rfc3339"
    # None: the desk has no upper bound; the run's bound is enforced on the records.
    before_param: str | None = "updated_before"
    # The desk refuses a since parameter younger than this many seconds (Zendesk: 60).
    min_since_age: int = 0
    # How each comment names its ticket; added from the parent when read per ticket.
    ticket_key: str = "ticket_id"
    # Next page of a per-ticket comments list: "header", a JSONPath, or None (one page).
    child_next_link: str | None = "header"
    auth: str = "oauth2"
    oauth_client_auth: str = "basic"
    token_path: str = "/oauth/token"
    api_key_header: str = "X-API-Key"
    # Headers a desk uses to say how long to wait after a 429, in the order tried.
    retry_after_headers: tuple[str, ...] = ("Retry-After",)
    # Headers a desk advertises its request budget in (see `budget.py`): what is left, when
    # the window resets (seconds, or a Unix time) and the window's limit; None: not sent.
    rate_limit_remaining_header: str | None = "X-RateLimit-Remaining"
    rate_limit_reset_header: str | None = "X-RateLimit-Reset"
    rate_limit_limit_header: str | None = "X-RateLimit-Limit"
    # The tickets' field naming the customer who asked (an erasure request names them); a
    # dotted path walks into an object (Help Scout's `primaryCustomer.id`).
    requester_field: str = "requester_id"

    def endpoint(self, resource: str) -> EndpointNames:
        """The vendor names of one of the two resources, by dlt resource name."""
        return {TICKETS_RESOURCE: self.tickets, COMMENTS_RESOURCE: self.comments}[resource]

    def cursor_of(self, resource: str) -> str:
        """The cursor field of one resource."""
        return self.endpoint(resource).cursor_field or self.cursor_field


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """The seed's retry policy: 3 retries of 429/5xx with exponential backoff, factor 2."""

    statuses: tuple[int, ...] = RETRY_STATUSES
    max_retries: int = 3
    backoff_factor: float = 2.0
    # A Retry-After longer than this fails the run instead of retrying early.
    max_wait: float = 300.0
    request_timeout: float = 60.0

    @property
    def max_attempts(self) -> int:
        """Attempts per request: the first one plus the retries (dlt counts attempts)."""
        return self.max_retries + 1

    def backoff(self, retry_number: int) -> float:
        """Seconds before retry number `retry_number` (1-based) when the server says nothing."""
        return min(self.max_wait, self.backoff_factor * 2 ** (retry_number - 1))


DEFAULT_API = ApiNames()
DEFAULT_RETRY = RetryPolicy()


SOURCE_NAME = "support_desk"
DESCRIPTIONS = {
    TICKETS_RESOURCE: "Support tickets from the Support API, merged on id.",
    COMMENTS_RESOURCE: "Ticket comments from the Support API, merged on id.",
}


# The contract's fields with their types, declared so that a field the API has sent only as
# null so far still exists as a column, and so a field that later changes type is visible
# as a variant column next to a stable one.
TIMESTAMP_COLUMN = {"data_type": "timestamp", "nullable": True}
CONTRACT_COLUMNS: dict[str, dict[str, dict[str, Any]]] = {
    TICKETS_RESOURCE: {
        "subject": {"data_type": "text"},
        "description": {"data_type": "text"},
        "status": {"data_type": "text"},
        "priority": {"data_type": "text"},
        "requester_id": {"data_type": "bigint"},
        "assignee_id": {"data_type": "bigint"},
        # Per-tenant keys whose values mix strings, numbers and booleans by design: one JSON
        # column keeps every value as sent, where flattening would scatter them over
        # type-variant columns and grow the table with each new custom field.
        "custom_fields": {"data_type": "json"},
        "tags": {"data_type": "json"},
        "created_at": TIMESTAMP_COLUMN,
    },
    COMMENTS_RESOURCE: {
        "ticket_id": {"data_type": "bigint"},
        "author_id": {"data_type": "bigint"},
        "body": {"data_type": "text"},
        "public": {"data_type": "bool"},
        "created_at": TIMESTAMP_COLUMN,
    },
}
