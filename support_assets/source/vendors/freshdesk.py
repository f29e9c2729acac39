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
"""

from support_assets.source.contract import ApiNames, EndpointNames

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
