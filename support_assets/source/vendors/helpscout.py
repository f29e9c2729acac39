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
- Threads: `GET /v2/conversations/{id}/threads` for each conversation the run loaded,
  `_embedded.threads`, next link as above [HS-THR; AB-HS]; a thread has no conversation
  id, so the loader adds `ticket_id`. Embedded threads (`embed=threads`) would save those
  calls: not used yet, see the README.
- Rate limits: 429 with `X-RateLimit-Retry-After` in seconds [HS-RL].
"""

from support_assets.source.contract import ApiNames, EndpointNames

PRESET = ApiNames(
    tickets=EndpointNames(
        "/v2/conversations",
        "_embedded.conversations",
        params=(("status", "all"), ("sortField", "modifiedAt"), ("sortOrder", "asc")),
    ),
    comments=EndpointNames("/v2/conversations/{id}/threads", "_embedded.threads", "createdAt"),
    pagination="page_number",
    limit_param=None,
    page_size=25,
    page_param="page",
    next_link="_links.next.href",
    total_path=None,
    cursor_field="userUpdatedAt",
    since_param="modifiedSince",
    before_param=None,
    child_next_link="_links.next.href",
    auth="oauth2",
    oauth_client_auth="body",
    token_path="/v2/oauth2/token",
    retry_after_headers=("X-RateLimit-Retry-After", "Retry-After"),
)
