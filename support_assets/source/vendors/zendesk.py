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
"""

from support_assets.source.contract import ApiNames, EndpointNames

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
