"""Freshdesk: the ticket list in ascending update order, and conversations per ticket.

- Auth: HTTP Basic with the API key as username and any password, conventionally `X`
  [FD-V1]; Freshdesk has no OAuth token endpoint for the API key [issue #14].
- Tickets: `GET /api/v2/tickets?updated_since=<RFC 3339>&order_by=updated_at&order_type=
  asc&per_page=100&page=N` [AB-FD; FD-LIST]: a bare array (selector `$`) with no total, the
  next page in a `Link: <...>; rel="next"` header, none on the last page [AB-FD]. Without
  `updated_since` only the last 30 days come back [AB-FD-PY], so it is always sent.
- Pages past the 300th are refused (400) [AB-FD-TT]; and page numbers over a list that
  changes skip records. Both are why the list is read by re-seeking on `updated_since`
  (inclusive: the boundary records come back and are merged) rather than by page number
  [AB-FD-300; TAP-FD].
- Unknown query parameters are refused with 400 `invalid_field` [FC]: nothing but the
  documented parameters is sent (no upper bound, which the list does not have).
  `include=description` adds the ticket's description, which the list leaves out
  otherwise (tap-freshdesk PR #57; Airbyte always sends it [AB-FD]); it costs 3 credits of
  the rate budget per call instead of 1 [FD-LIST].
- Deleted and spam tickets are not in the list; only `filter=deleted` shows them [FD-LIST;
  TAP-FD]. The preset does not read them: they stay as last loaded (see the README).
- Comments: `GET /api/v2/tickets/{id}/conversations?per_page=100` for each ticket the run
  loaded, following the `Link` header; Freshdesk has no bulk endpoint [AB-FD; TAP-FD].
  Conversations carry `ticket_id` themselves [AB-FD schema].
- Rate limits: 429 with `Retry-After` in seconds; every answer carries
  `X-RateLimit-Total`, `X-RateLimit-Remaining` and `X-RateLimit-Used-CurrentRequest`, per
  minute by plan (Growth 200, Pro 400, Enterprise 700) [FD-RL; docs/vendors.md: Airbyte's
  api_budget reads the same `X-RateLimit-Remaining`]. No reset header: the budget keeps
  going while budget is left, then the plan's rate (see budget.py).
- Columns (`COLUMNS`): a ticket's fields and their values as "List all tickets" and the
  ticket's properties describe them [FD-LIST; FD-TKT: developers.freshdesk.com/api/
  #tickets, through schemas.apis.io/schemas/freshdesk/freshdesk-ticket, secondary]; a
  conversation's as "List all conversations of a ticket" does [FD-CONV; AB-FD
  `schemas.conversations`]. Freshdesk's numbers (status, priority, source) land in the
  contract's text columns as their digits: the contract hints status and priority as text.
"""

from support_assets.source.contract import (
    COMMENTS_RESOURCE,
    TICKETS_RESOURCE,
    ApiNames,
    EndpointNames,
)

PRESET = ApiNames(
    tickets=EndpointNames(
        "/api/v2/tickets",
        "$",
        params=(("order_by", "updated_at"), ("order_type", "asc"), ("include", "description")),
    ),
    comments=EndpointNames("/api/v2/tickets/{id}/conversations", "$", "updated_at"),
    pagination="page_number",
    limit_param="per_page",
    page_size=100,
    page_param="page",
    next_link="header",
    total_path=None,
    cursor_field="updated_at",
    since_param="updated_since",
    before_param=None,
    child_next_link="header",
    auth="basic",
    retry_after_headers=("Retry-After",),
    rate_limit_remaining_header="X-RateLimit-Remaining",
    rate_limit_reset_header=None,
    rate_limit_limit_header="X-RateLimit-Total",
)

DESK = "Freshdesk"
ENDPOINTS = {
    TICKETS_RESOURCE: "ticket list",
    COMMENTS_RESOURCE: "conversations of each ticket",
}
_RFC3339 = "RFC 3339 in UTC, stored as a UTC timestamp"
COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    TICKETS_RESOURCE: {
        "id": ("bigint", "Unique id of the ticket; the merge key [FD-TKT]."),
        "subject": ("text", "Subject of the ticket [FD-TKT]."),
        "status": (
            "text",
            "Status as Freshdesk's number, stored as text: 2 Open, 3 Pending, 4 Resolved, "
            "5 Closed (an account's custom statuses have numbers of their own) [FD-TKT].",
        ),
        "priority": (
            "text",
            "Priority as Freshdesk's number, stored as text: 1 Low, 2 Medium, 3 High, "
            "4 Urgent [FD-TKT].",
        ),
        "requester_id": ("bigint", "Id of the contact who raised the ticket [FD-TKT]."),
        "responder_id": (
            "bigint",
            "Id of the agent the ticket is assigned to; null if none (Freshdesk's assignee) "
            "[FD-TKT].",
        ),
        "tags": ("json", "Tags of the ticket: a JSON list of strings [FD-TKT]."),
        "custom_fields": (
            "json",
            "Custom field values: a JSON object keyed by the field's name with the cf_ "
            "prefix [FD-TKT].",
        ),
        "spam": ("bool", "True if the ticket is marked as spam [FD-TKT]."),
        "created_at": ("timestamp", f"When the ticket was created; {_RFC3339} [FD-TKT]."),
        "updated_at": (
            "timestamp",
            f"When the ticket was last updated; {_RFC3339}. The cursor: the newest version "
            "wins [FD-LIST].",
        ),
        "description": (
            "text",
            "HTML content of the ticket's description; sent because the preset asks "
            "include=description [FD-TKT; FD-LIST].",
        ),
        "description_text": (
            "text",
            "The description as plain text; sent with include=description [FD-TKT; FD-LIST].",
        ),
        "deleted": (
            "bool",
            "True on a deleted ticket, which only the filter=deleted list shows: the preset "
            "does not read it, so this column stays absent (GUESS [FD-LIST])",
        ),
    },
    COMMENTS_RESOURCE: {
        "id": ("bigint", "Id of the conversation (a reply or a note); the merge key [FD-CONV]."),
        "body": ("text", "Content of the conversation in HTML [FD-CONV]."),
        "body_text": ("text", "Content of the conversation in plain text [FD-CONV]."),
        "incoming": (
            "bool",
            "True if the conversation came from outside Freshdesk (the customer), false if "
            "an agent wrote it there [FD-CONV].",
        ),
        "private": ("bool", "True for a private note, which the requester does not see [FD-CONV]."),
        "user_id": ("bigint", "Id of the agent or contact who wrote it [FD-CONV]."),
        "ticket_id": ("bigint", "Id of the ticket (support_tickets.id) [FD-CONV]."),
        "source": (
            "bigint",
            "Kind of conversation as Freshdesk's number: 0 Reply, 2 Note, others for other "
            "channels (GUESS beyond 0 and 2 [AB-FD]).",
        ),
        "created_at": ("timestamp", f"When the conversation was created; {_RFC3339} [FD-CONV]."),
        "updated_at": (
            "timestamp",
            f"When the conversation was last updated; {_RFC3339}. Orders its versions: the "
            "newest wins [FD-CONV].",
        ),
    },
}
