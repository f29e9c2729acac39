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
# Where history begins when nothing says otherwise.
DEFAULT_START_DATE = dt.date(2024, 1, 1)


@dataclasses.dataclass(frozen=True)
class EndpointNames:
    """How one collection is spelled by the vendor."""

    path: str
    data_selector: str


@dataclasses.dataclass(frozen=True)
class ApiNames:
    """The vendor's names for everything the source sends or reads."""

    tickets: EndpointNames = EndpointNames("/v1/tickets", "tickets")
    comments: EndpointNames = EndpointNames("/v1/ticket_comments", "comments")
    offset_param: str = "offset"
    limit_param: str = "limit"
    page_size: int = 100
    # None: the vendor sends no total; pagination then stops at the first short page.
    total_path: str | None = "total"
    primary_key: str = "id"
    cursor_field: str = "updated_at"
    since_param: str = "updated_since"
    before_param: str = "updated_before"
    token_path: str = "/oauth/token"

    def endpoint(self, resource: str) -> EndpointNames:
        """The vendor names of one of the two resources, by dlt resource name."""
        return {TICKETS_RESOURCE: self.tickets, COMMENTS_RESOURCE: self.comments}[resource]


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
