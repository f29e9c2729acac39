"""Zendesk Support: tickets from the cursor-based incremental export, comments per ticket.

- Auth: an API token as HTTP Basic, username `{email}/token`, password the token
  [ZD-AUTH; DLT-ZD `talk_api.py`]; or an OAuth access token as a bearer (`SUPPORT_AUTH=
  bearer`, `SUPPORT_API_TOKEN`) [ZD-AUTH].
- Tickets: `GET /api/v2/incremental/tickets/cursor.json?start_time=<epoch>`, then
  `?cursor=<after_cursor>` until `end_of_stream` [ZD-IEG; ZD-OAS; FIVETRAN]; up to 1000
  per page (`per_page`) [zdeskR; GUESS for the maximum]. The export compares `start_time`
  with `generated_timestamp` (Unix seconds), which also moves on system updates, so that
  is the cursor: `updated_at` would miss those [ZD-OAS; dlt-hub/verified-sources#621].
- A start time under a minute old is refused (400 `StartTimeTooRecent`), and changes of
  the last minute are left out of the export [ZD-IEG; AB-ZD]: the since parameter is kept
  at least 60 s old, and each run's window ends 60 s before the desk's clock.
- Comments: the incremental ticket events with the comments side-loaded,
  `GET /api/v2/incremental/ticket_events.json?start_time=<epoch>&include=comment_events`,
  following `next_page` until `end_of_stream` [ZD-OAS; DLT-ZD `ticket_events`]. Each
  comment is a child event (`child_events`, `event_type: "Comment"`); the row is that
  child with the event's `ticket_id` and `timestamp` (the cursor, Unix seconds), as
  Airbyte does [AB-ZD `TicketComments`]. An edited comment comes again in a later event:
  the newest `timestamp` wins. Events at a page's `end_time` come again on the next page
  [ZD-OAS]: merged on the comment id. Per-ticket comments
  (`/api/v2/tickets/{id}/comments.json`, one call per ticket) stay a setting away.
- Rate limits: 429 with `Retry-After` in seconds [ZD-RL]. Every answer advertises the
  account's budget for the current minute, `X-Rate-Limit: 700` and `X-Rate-Limit-Remaining:
  699`; list endpoints add `ratelimit-reset: 41` (seconds) [ZD-BP]. The budget paces to
  them; where the reset is missing it keeps going while budget is left (see budget.py).
- Columns (`COLUMNS`): the ticket's fields as the Tickets API describes them [ZD-TKT:
  developer.zendesk.com/api-reference/ticketing/tickets/tickets/, JSON format] and the
  export's example [ZD-OAS]; a comment's as Ticket Comments describes them [ZD-COM] and as
  the event export's child event holds them [ZD-OAS]; the custom statuses page for the
  status values [ZD-CS: developer.zendesk.com/api-reference/ticketing/tickets/
  custom_ticket_statuses/].
"""

from support_assets.source.contract import (
    COMMENTS_RESOURCE,
    TICKETS_RESOURCE,
    ApiNames,
    EndpointNames,
)

PRESET = ApiNames(
    tickets=EndpointNames(
        "/api/v2/incremental/tickets/cursor.json", "tickets", cursor_field="generated_timestamp"
    ),
    comments=EndpointNames(
        "/api/v2/incremental/ticket_events.json",
        "ticket_events",
        cursor_field="timestamp",
        params=(("include", "comment_events"),),
        nested="child_events",
        nested_filter=("event_type", "Comment"),
    ),
    pagination="stream",
    limit_param="per_page",
    page_size=1000,
    next_cursor_path="after_cursor",
    cursor_param="cursor",
    next_url_path="next_page",
    end_path="end_of_stream",
    total_path=None,
    cursor_field="generated_timestamp",
    cursor_format="epoch",
    since_param="start_time",
    since_format="epoch",
    before_param=None,
    min_since_age=60,
    auth="basic",
    retry_after_headers=("Retry-After",),
    rate_limit_remaining_header="X-Rate-Limit-Remaining",
    rate_limit_reset_header="ratelimit-reset",
    rate_limit_limit_header="X-Rate-Limit",
)

DESK = "Zendesk"
ENDPOINTS = {
    TICKETS_RESOURCE: "incremental ticket export",
    COMMENTS_RESOURCE: "incremental ticket event export, its comment events",
}
_RFC3339 = "RFC 3339 in UTC, stored as a UTC timestamp"
COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    TICKETS_RESOURCE: {
        "id": ("bigint", "Automatically assigned ticket id; the merge key [ZD-TKT]."),
        "created_at": ("timestamp", f"When the ticket was created; {_RFC3339} [ZD-TKT]."),
        "updated_at": (
            "timestamp",
            f"When the ticket was last updated by a ticket event; {_RFC3339}. A system "
            "update does not move it [ZD-OAS].",
        ),
        "generated_timestamp": (
            "timestamp",
            "When the ticket last changed, system updates included: Unix seconds at the "
            "desk, stored as a UTC timestamp. The export's and the table's cursor: the "
            "newest version wins [ZD-OAS].",
        ),
        "subject": ("text", "The ticket's subject [ZD-TKT]."),
        "raw_subject": (
            "text",
            "The subject as entered: the dynamic content placeholder ({{dc.name}}) where one "
            "is used, else the same as subject [ZD-TKT].",
        ),
        "description": ("text", "The ticket's first comment, read-only [ZD-TKT]."),
        "priority": ("text", "One of urgent, high, normal, low; null when unset [ZD-TKT]."),
        "status": (
            "text",
            "One of new, open, pending, hold, solved, closed [ZD-TKT; ZD-CS]; the export "
            "also lists deleted tickets, as status deleted (GUESS [ZD-IE]).",
        ),
        "requester_id": ("bigint", "Id of the user who requested the ticket [ZD-TKT]."),
        "assignee_id": ("bigint", "Id of the agent assigned to the ticket; null if none [ZD-TKT]."),
        "tags": ("json", "The ticket's tags: a JSON list of strings [ZD-TKT]."),
        "custom_fields": (
            "json",
            "Custom field values: a JSON list of {id, value}, every field of the account, "
            "unset ones null; the ids are the account's ticket fields [ZD-TKT; ZD-OAS].",
        ),
    },
    COMMENTS_RESOURCE: {
        "id": ("bigint", "Automatically assigned comment id; the merge key [ZD-COM]."),
        "type": ("text", "Comment or VoiceComment [ZD-COM]."),
        "event_type": ("text", "The child event's type: always Comment here [ZD-OAS]."),
        "author_id": ("bigint", "Id of the comment's author [ZD-COM]."),
        "body": ("text", "The comment as plain text [ZD-COM]."),
        "html_body": ("text", "The comment formatted as HTML [ZD-COM]."),
        "public": ("bool", "True if a public comment, false if an internal note [ZD-COM]."),
        "attachments": ("json", "Attachments on the comment: a JSON list of objects [ZD-COM]."),
        "audit_id": (
            "bigint",
            "Id of the ticket audit (the event) that wrote this version of the comment [ZD-OAS].",
        ),
        "via": (
            "json",
            "How the comment was created: a JSON object {channel, source} (channel web, "
            "email, api, ...) [ZD-COM].",
        ),
        "via_reference_id": (
            "bigint",
            "Id of the record the via channel refers to, if any [ZD-OAS].",
        ),
        "created_at": ("timestamp", f"When the comment was created; {_RFC3339} [ZD-COM]."),
        "ticket_id": (
            "bigint",
            "Id of the ticket, copied from the comment's event (support_tickets.id) [ZD-OAS; "
            "AB-ZD].",
        ),
        "timestamp": (
            "timestamp",
            "When the event holding this version happened: Unix seconds at the desk, stored "
            "as a UTC timestamp, copied from the event. The cursor: the newest version wins "
            "[ZD-OAS; AB-ZD].",
        ),
    },
}
