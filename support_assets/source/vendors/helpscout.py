"""Help Scout (Inbox API 2.0): conversations of every status, and their threads.

- Auth: OAuth2 client credentials at `POST /v2/oauth2/token`, the id and secret as body
  parameters (`client_secret_post`) [HS-AUTH; HS-PHP; AB-HS]; HTTP Basic client
  authentication is refused [issue #14; GUESS].
- Conversations: `GET /v2/conversations?status=all&sortField=modifiedAt&sortOrder=asc&
  modifiedSince=<RFC 3339>&page=N` [AB-HS; TAP-HS]; without `status` only active ones
  come back [help-scout-mcp-server#12]. HAL pages: records at `_embedded.conversations`,
  the next page's link at `_links.next.href`, absent on the last page; 25 per page and no
  size parameter [HS-PAG]. `page` is a page number, so the list is read by re-seeking on
  `modifiedSince` (inclusive: GUESS) rather than by number.
- The list filters and sorts on `modifiedAt`, which the v2 object does not carry; its
  `userUpdatedAt` is the cursor [HS-GET; AB-HS]. GUESS: that it moves with `modifiedAt`.
- Threads: embedded in the same list with `embed=threads` (`_embedded.threads` inside each
  conversation; attachments included since 2024-08-27) [HS-CL; AB-HS], read as a second
  pass over the list, so a full load costs about twice the list's pages instead of a call
  per conversation. A thread names neither its conversation nor a change time: each row
  takes the conversation's `id` as `ticket_id` and its `userUpdatedAt` (the cursor).
  GUESS: that the list embeds every thread, not a capped number. Per-conversation threads
  (`/v2/conversations/{id}/threads` [HS-THR]) stay a setting away.
- Rate limits: 429 with `X-RateLimit-Retry-After` in seconds [HS-RL].
"""

from support_assets.source.contract import ApiNames, EndpointNames

PRESET = ApiNames(
    tickets=EndpointNames(
        "/v2/conversations",
        "_embedded.conversations",
        params=(("status", "all"), ("sortField", "modifiedAt"), ("sortOrder", "asc")),
    ),
    comments=EndpointNames(
        "/v2/conversations",
        "_embedded.conversations",
        params=(
            ("status", "all"),
            ("sortField", "modifiedAt"),
            ("sortOrder", "asc"),
            ("embed", "threads"),
        ),
        nested="_embedded.threads",
        nested_ticket_field="id",
    ),
    pagination="page_number",
    limit_param=None,
    page_size=25,
    page_param="page",
    next_link="_links.next.href",
    total_path=None,
    cursor_field="userUpdatedAt",
    since_param="modifiedSince",
    before_param=None,
    auth="oauth2",
    oauth_client_auth="body",
    token_path="/v2/oauth2/token",
    retry_after_headers=("X-RateLimit-Retry-After", "Retry-After"),
    # The conversation's customer [HS-CL]; the emulator's requester.
    requester_field="primaryCustomer.id",
)
