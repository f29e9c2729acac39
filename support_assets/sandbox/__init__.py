"""The reference Support API as a local server: seeded data, OAuth2, and switchable faults.

Everything else in the project is tested against it, so it behaves like a real vendor:
offset pagination over live data ordered by (updated_at, id), short-lived tokens, and the
failures real APIs produce. Start it with::

    python -m support_assets.sandbox [--host 127.0.0.1] [--port 8765|0] [--tickets 1000]
        [--comments 5000] [--seed 0] [--client-id sandbox-client]
        [--client-secret sandbox-secret] [--token-ttl 3600] [--anchor RFC3339]
        [--faults name[:key=value...][,name...]]

or from Python with `SandboxServer(...)` as a context manager (a subprocess on a free port).

Data: deterministic for (seed, anchor). `anchor` is the newest timestamp (default: the reset's
second); history spans 2**26 s (about two years) before it. A quarter of the records share
their `updated_at` second with 2 to 29 others, so ties fall on page and cursor boundaries.

Faults (names, parameters with defaults). Decisions hash (seed, fault, method + path +
sorted query, attempt number for that URL), so the same requests give the same statuses
on every run; setting faults or resetting starts the attempt and page counts again.

- `rate_limit` (ratio=0.3, retry_after=1): the chosen share of data URLs answers 1 or 2
  times `429 {"error": "rate_limited"}`; `Retry-After` rotates between `retry_after`
  seconds, `0` and an HTTP date `retry_after` seconds ahead.
- `server_errors` (ratio=0.3): the chosen URLs answer 1 or 2 times 500/502/503/504 with a
  JSON, an HTML or an empty body. With `rate_limit`, a URL still fails at most twice.
  Either takes `burst=n` (0 by default): the chosen URLs then fail exactly n times in a row,
  beyond the cap of two, to probe how many attempts a client makes.
- `token_revoke` (every=5): every token is revoked after each `every`-th 200 data page.
- `token_early_expiry` (lifetime=1): tokens die `lifetime` seconds (a float) after issue,
  while the token response still promises the full `expires_in`; with `lifetime` 0 every
  token is dead on arrival, whatever the client's speed.
- `live_updates` (per_page=1): before answering a page with offset > 0, that many records
  ahead of the offset in the request's filtered order get a new `updated_at` and content,
  so they move to the end and the records behind shift one place forward.
- `schema_drift` (after_pages=0): once that many data pages have been served, tickets gain
  `satisfaction_rating` (object) and `via_channel`, and `requester_id` becomes a string
  ("u-1042"); comments gain `via_channel` and `attachments` (list of objects). Old and new
  records alike, and `truth()` too.
- `malformed_page` (offset=100): a page at that offset answers 200 with an HTML body.
- `missing_data_key` (offset=100): a page at that offset answers 200 JSON without the
  data key: `{"total", "offset", "limit"}`.
- `missing_id` (ratio=0.01): that share of records is served without `id` (not in truth).
- `slow` (delay=0.05, unauthorized=0): every authorized, valid data request waits `delay`
  seconds first; with `unauthorized=1`, so do the 401 answers to a refused token.
- `no_access_token`: the token endpoint answers 200 with `token_type` and `expires_in` but
  no `access_token`.

Faults act only on authorized, valid `GET /v1/*` requests; 401 and 400 answers never count
as attempts. `faults_injected` in the stats counts each 429 or 5xx, each revocation, each
token killed early, each record moved, each drifted page, each malformed or keyless page,
each record served without id, and each delayed response.

Hostile cases (`SandboxServer.set_hostile`, see `sandbox.hostile`) serve one exact
deviation from the contract instead: a record patched or rewritten byte for byte, or a page
with its `total` as a string or absent, or a prefix such as a byte-order mark.

Mutations pick their records deterministically for (seed, number of mutations since the
reset), or take explicit `ids=`. Soft-deleted comments carry `deleted: true` (comments have
no status); purging a ticket purges its comments, so every comment keeps an existing ticket.
"""

from support_assets.sandbox.client import SandboxError, SandboxServer

__all__ = ["SandboxError", "SandboxServer"]
