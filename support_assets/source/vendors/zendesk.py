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
- Comments: `GET /api/v2/tickets/{id}/comments.json` for each ticket the run loaded,
  following `next_page` [ZD-COM; AB-ZD]; the comment record has no ticket id, so the loader
  adds `ticket_id` [airbytehq/airbyte#8568]. The bulk alternative (incremental ticket
  events with `include=comment_events`) is not used yet: see the README.
- Rate limits: 429 with `Retry-After` in seconds [ZD-RL].
"""

from support_assets.source.contract import ApiNames, EndpointNames

PRESET = ApiNames(
    tickets=EndpointNames(
        "/api/v2/incremental/tickets/cursor.json", "tickets", cursor_field="generated_timestamp"
    ),
    comments=EndpointNames("/api/v2/tickets/{id}/comments.json", "comments", "created_at"),
    pagination="stream",
    limit_param="per_page",
    page_size=1000,
    next_cursor_path="after_cursor",
    cursor_param="cursor",
    end_path="end_of_stream",
    total_path=None,
    cursor_field="generated_timestamp",
    cursor_format="epoch",
    since_param="start_time",
    since_format="epoch",
    before_param=None,
    min_since_age=60,
    child_next_link="next_page",
    auth="basic",
    retry_after_headers=("Retry-After",),
)
