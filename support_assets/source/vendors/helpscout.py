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
- Rate limits: 429 with `X-RateLimit-Retry-After` in seconds [HS-RL]; every answer
  advertises `X-RateLimit-Limit-Minute` and `X-RateLimit-Remaining-Minute`, account-wide
  [HS-RL]. No reset header: the budget keeps going while budget is left, then the plan's
  rate (see budget.py).
- Columns (`COLUMNS`, dlt's snake_case of the camelCase fields): a conversation's fields as
  "Get Conversation" lists them [HS-GET]; a thread's as the threads list does [HS-THR], its
  values as the thread object of the legacy API listed them [HS-THR1: developer.helpscout.
  com/help-desk-api/objects/thread/, a deprecated page: GUESS that v2 kept them].
"""

from support_assets.source.contract import (
    COMMENTS_RESOURCE,
    TICKETS_RESOURCE,
    ApiNames,
    EndpointNames,
)

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
    rate_limit_remaining_header="X-RateLimit-Remaining-Minute",
    rate_limit_reset_header=None,
    rate_limit_limit_header="X-RateLimit-Limit-Minute",
    # The conversation's customer [HS-CL]; the emulator's requester.
    requester_field="primaryCustomer.id",
)

DESK = "Help Scout"
ENDPOINTS = {
    TICKETS_RESOURCE: "conversation list",
    COMMENTS_RESOURCE: "conversation list, the threads embedded in each conversation",
}
_UTC = "RFC 3339 in UTC, stored as a UTC timestamp"
COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    TICKETS_RESOURCE: {
        "id": ("bigint", "The conversation's id; the merge key [HS-GET]."),
        "number": ("bigint", "The conversation's number, as shown in Help Scout [HS-GET]."),
        "subject": ("text", "The conversation's subject [HS-GET]."),
        "status": ("text", "One of active, pending, closed, spam [HS-GET]."),
        "state": ("text", "One of published, draft, deleted [HS-GET]."),
        "preview": ("text", "Preview text of the most recent thread [HS-GET]."),
        "mailbox_id": (
            "bigint",
            "Id of the mailbox holding the conversation (mailboxId) [HS-GET].",
        ),
        "assignee": (
            "json",
            "The user the conversation is assigned to: a JSON object (id, type, and name and "
            "email at the desk); null if unassigned [HS-GET].",
        ),
        "created_by": (
            "json",
            "Who created the conversation (createdBy): a JSON object {id, type: customer or "
            "user, email} [HS-GET].",
        ),
        "primary_customer": (
            "json",
            "The conversation's primary customer (primaryCustomer): a JSON object with its "
            "id [HS-GET].",
        ),
        "tags": ("json", "The conversation's tags: a JSON list of {id, tag} [HS-GET]."),
        "custom_fields": (
            "json",
            "Custom field values (customFields): a JSON list of {id, name, value}, values "
            "as text [HS-GET].",
        ),
        "created_at": (
            "timestamp",
            f"When the conversation was created (createdAt); {_UTC} [HS-GET].",
        ),
        "closed_at": (
            "timestamp",
            f"When the conversation was closed (closedAt); {_UTC}; null while open [HS-GET].",
        ),
        "user_updated_at": (
            "timestamp",
            f"When a user last updated the conversation (userUpdatedAt); {_UTC}. The cursor: "
            "the newest version wins [HS-GET; AB-HS].",
        ),
    },
    COMMENTS_RESOURCE: {
        "id": ("bigint", "The thread's id; the merge key [HS-THR]."),
        "type": (
            "text",
            "Kind of thread: customer (from the customer), message (a user's reply), note "
            "(internal), or lineitem, phone, chat, forwardparent, forwardchild [HS-THR; HS-THR1].",
        ),
        "status": (
            "text",
            "The conversation status this thread set: nochange, active, pending, closed, spam "
            "[HS-THR1].",
        ),
        "state": ("text", "One of published, draft, underreview, hidden [HS-THR1]."),
        "body": ("text", "The thread's text, as HTML where the desk formatted it [HS-THR]."),
        "source": (
            "json",
            "Where the thread came from: a JSON object {type (email, web, api, ...), via "
            "(customer or user)} [HS-THR; HS-GET].",
        ),
        "customer": ("json", "The conversation's customer: a JSON object with its id [HS-THR]."),
        "created_by": (
            "json",
            "Who wrote the thread (createdBy): a JSON object {id, type: customer or user} "
            "[HS-THR].",
        ),
        "created_at": ("timestamp", f"When the thread was created (createdAt); {_UTC} [HS-THR]."),
        "ticket_id": (
            "bigint",
            "Id of the conversation holding the thread (support_tickets.id), copied from it: "
            "a thread does not name its conversation [HS-CL].",
        ),
        "user_updated_at": (
            "timestamp",
            f"The conversation's userUpdatedAt when this version was read; {_UTC}. A thread "
            "has no change time of its own: this orders its versions, the newest wins.",
        ),
    },
}
