"""The reference Support API contract, the sandbox's own `openapi.yaml`.

OAuth2 client credentials (HTTP Basic client authentication), offset pages with a total,
`updated_since`/`updated_before` windows ordered by (`updated_at`, `id`). Its budget, when
it has one, in the common de-facto form: `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` in seconds (or a Unix time; both are read).
"""

from support_assets.source.contract import COMMENTS_RESOURCE, TICKETS_RESOURCE, ApiNames

PRESET = ApiNames()

# Its columns are the contract's own (`source/columns.py`).
DESK = "the reference Support API"
ENDPOINTS = {
    TICKETS_RESOURCE: "tickets collection",
    COMMENTS_RESOURCE: "ticket comments collection",
}
