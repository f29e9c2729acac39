"""Help Scout (Inbox API 2.0) over the sandbox's data: conversations, threads, OAuth2.

`desk` answers HTTP (token, routes, errors, faults); `conversations` indexes and renders.

Keys in brackets cite docs/vendors.md section 3; GUESS marks what no public source settles.

Auth.
- `POST /v2/oauth2/token`, `grant_type=client_credentials`, `client_id` and `client_secret`
  in the body, as a form or as JSON by Content-Type, or as query parameters [HS-AUTH,
  HS-PHP]. The sandbox's `client_id` and `client_secret` are the app id and secret.
- Success: `{"access_token", "token_type": "Bearer", "expires_in"}` [HSCLI]; `expires_in` is
  the sandbox's `token_ttl` (Help Scout's is 172800, 48 h). No refresh token [HSCLI].
- Wrong id or secret: 401 `{"error": "invalid_client", "error_description": "Invalid client
  authentication"}` [shaun3141/HelpScout #3; the status is GUESS]. HTTP Basic client
  authentication gets the same 401, whatever the body holds (GUESS, issue #14).
- Missing or empty fields, or a body that does not parse: 400 `invalid_request` [demarche
  #6950 for empty credentials]; another grant type: 400 `unsupported_grant_type` (GUESS).
- API calls take `Authorization: Bearer <token>` [HS-AUTH]; an unknown, expired, revoked or
  early-expired token gets 401 [helpscout-api-php #279] with `{"error": "invalid_token",
  "error_description": ...}` and a Bearer challenge (body and header GUESS, Spring's
  OAuth2 shape, which the token errors above share).

Conversations: `GET /v2/conversations` [HS-PAG, HS-GET, AB-HS, TAP-HS].
- `status`: active, all, closed, open, pending, spam; omitted means active only
  [help-scout-mcp-server PR #12]. Store statuses map new/open to active, pending to pending,
  solved/closed to closed; `open` is active plus pending and `spam` is always empty (GUESS).
- `sortField` modifiedAt, createdAt or number; `sortOrder` asc or desc. The defaults
  (createdAt, desc) and refusing the other documented fields are GUESS.
- `modifiedSince`: RFC 3339 [AB-HS sends `%Y-%m-%dT%H:%M:%SZ`], inclusive (GUESS; TAP-HS
  keeps `>=`). `page`: a 1-based page number, 25 conversations a page, no size parameter
  (any is ignored) [HS-PAG]. A page past the last is an empty list (GUESS).
- `application/hal+json`: `{"_embedded": {"conversations": [...]}, "_links": {self, first,
  last, next, previous, page (templated)}, "page": {size, totalElements, totalPages,
  number}}` [HS-PAG, HS-PHP]; no `next` on the last page [HS-PAG]; links keep the query
  [HS-CL]; the templated `page` link ends in `{?page}`, or `{&page}` after a query [HS-PAG].
- A conversation: id, number (= id), subject, status, state `published`, preview (the first
  255 characters of the description, GUESS), mailboxId (always 1), assignee {id, type}
  (absent when unassigned, GUESS), createdBy and primaryCustomer {id, type} (the
  requester), tags [{id, tag}], customFields [{id, name, value}] (values as strings, ids
  fixed per name, GUESS), createdAt, closedAt (closed only: the ticket's updated_at, GUESS),
  userUpdatedAt [HS-GET]. Help Scout filters and sorts on `modifiedAt`, which the v2 object
  does not carry [HS-GET]; here `userUpdatedAt` IS that modification time (GUESS): the
  newest of the ticket's `updated_at` and the `updated_at` of every comment on it, so a new,
  edited or deleted thread moves its conversation, as on the real desk.
- `embed=threads` puts every published thread under `_embedded.threads` of each
  conversation, newest first [HS-CL, AB-HS; all of them, uncapped, GUESS].
- Soft-deleted tickets (state `deleted` [HS-GET]) are in no list, and
  `GET /v2/conversations/{id}` answers 404 for them [GUESS, docs/vendors.md 3.5].
- No route lists deleted conversations: the Inbox API 2.0 reference has none, and a
  deletion reaches integrations only as a webhook event ("conversation deleted" [NEW:
  make.com/en/help/app/helpscout]; GUESS that no undocumented route exists). A loader
  learns of a deletion by listing every conversation id (`status=all`) and missing it.

Threads: `GET /v2/conversations/{id}/threads` [HS-THR, AB-HS].
- The same HAL page around `_embedded.threads`, 50 a page (GUESS), newest first by createdAt
  [HS-THR], then id descending (GUESS).
- A thread: id, type (`note` for a private comment, else `customer` when its author is the
  ticket's requester, else `message`), status `nochange`, state `published`, body, source
  {type, via}, customer {id}, createdBy {id, type}, createdAt [HS-THR; the rules GUESS].
  Soft-deleted comments are left out (GUESS).

Errors: a bad parameter is 400 `application/vnd.error+json`, `{"logRef", "message",
"_embedded": {"errors": [{"path", "message", "rejectedValue"}]}}` [HS-PHP ValidationHandler,
VndError; the texts GUESS]; a parameter given twice is refused too (GUESS).

Rate limits [HS-RL]: every data response carries `X-RateLimit-Limit-Minute` (400, GUESS) and
`X-RateLimit-Remaining-Minute` (counting down per clock minute, floored at 0, never
enforced). The `rate_limit` fault answers 429 with `X-RateLimit-Retry-After: <retry_after>`,
no standard `Retry-After`, and `{"message": "Too many requests"}` (GUESS). Under
`rate_budget` the budget is the fault's and enforced: over it, that 429 with
`X-RateLimit-Retry-After` until the window ends; advertised, the two headers carry its
numbers; hidden, none (nor on requests the budget does not count: 401s, 400s).

Faults as the reference contract applies them (auth, slow, outage, 429 and 5xx, then
live_updates), with `token_revoke`, `token_early_expiry` and `no_access_token` on the tokens.
`live_updates`: before page n > 1 of a conversation list, records among the first
(n - 1) * 25 of that request's order get an agent's edit and a stamp past every
conversation, which moves them to the end of the modifiedAt order: page-number drift
[docs/vendors.md 3.6]. Thread lists do not drift (edits keep createdAt). The schema and
hostile faults are the reference contract's only.

Loading: `status=all&sortField=modifiedAt&sortOrder=asc&modifiedSince=<cursor>&embed=threads`
from page 1, seeking again from the last page's last `userUpdatedAt` after every page, never
loses a conversation to churn; records of the cursor's own second come back, and a page
wholly inside that second needs the next page number instead, or the seek would not move.

Truth: `tickets` are the published conversations of every status as the list serves them,
without `_embedded`; `comments` are their published threads, each with `ticket_id` (its
conversation's id) added, as a loader adds it from the parent.
"""

from support_assets.sandbox.vendors.helpscout.desk import DESK, HelpScout

__all__ = ["DESK", "HelpScout"]
