"""Zendesk's record shapes, rendered from the store's records deterministically.

A ticket is the export's ticket with the fields the store holds; a comment version is one
ticket event (an audit) whose child event is the comment. The citations are in the package's
docstring.
"""

import hashlib
import html
from typing import Any

import orjson

from support_assets.sandbox.data import ID_BITS

# Zendesk lists every custom field of the account on every ticket, unset ones as null; the
# ids are made up (real ones are per account).
CUSTOM_FIELDS = {
    "plan": 360001000001,
    "sla_hours": 360001000002,
    "vip": 360001000003,
    "region": 360001000004,
    "order_ref": 360001000005,
}
_COMMENT_VIA = {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}}


def ticket(row: bytes, key: int) -> bytes:
    """One stored ticket in the export's shape; `generated_timestamp` is its order stamp."""
    record = orjson.loads(row)
    fields = record.get("custom_fields") or {}
    return orjson.dumps(
        {
            "id": record["id"],
            "created_at": record["created_at"],
            "updated_at": record["updated_at"],
            "generated_timestamp": key >> ID_BITS,
            "subject": record["subject"],
            "raw_subject": record["subject"],
            "description": record["description"],
            "priority": record["priority"],
            "status": record["status"],
            "requester_id": record["requester_id"],
            "assignee_id": record["assignee_id"],
            "tags": record["tags"],
            "custom_fields": [
                {"id": field_id, "value": fields.get(name)}
                for name, field_id in CUSTOM_FIELDS.items()
            ],
        }
    )


def audit_id(key: int) -> int:
    """A stable id for the audit that wrote this version of a comment (48 bits)."""
    digest = hashlib.blake2b(key.to_bytes(16, "big"), digest_size=6).digest()
    return int.from_bytes(digest, "big")


def _html(body: str) -> str:
    """The body as Zendesk's rich text: a paragraph per blank-line block, `<br>` per line."""
    paragraphs = html.escape(body).replace("\n\n", '</p><p dir="auto">').replace("\n", "<br>")
    return f'<div class="zd-comment"><p dir="auto">{paragraphs}</p></div>'


def comment(record: dict[str, Any], audit: int) -> dict[str, Any]:
    """A stored comment as the event export's `Comment` child event."""
    return {
        "id": record["id"],
        "via": _COMMENT_VIA,
        "via_reference_id": None,
        "type": "Comment",
        "author_id": record["author_id"],
        "body": record["body"],
        "html_body": _html(record["body"]),
        "public": record["public"],
        "attachments": [],
        "audit_id": audit,
        "created_at": record["created_at"],
        "event_type": "Comment",
    }


def truth_comment(row: bytes, key: int) -> dict[str, Any]:
    """What a loader keeps of a comment: the child event plus its event's `ticket_id`."""
    record = orjson.loads(row)
    return {**comment(record, audit_id(key)), "ticket_id": record["ticket_id"]}


def event(row: bytes, key: int, comments: bool) -> bytes:
    """One stored comment version as a ticket event, with or without the comment side-load."""
    record = orjson.loads(row)
    audit = audit_id(key)
    if comments:
        child = comment(record, audit)
    else:
        child = {
            "id": record["id"],
            "via": _COMMENT_VIA,
            "via_reference_id": None,
            "comment_present": True,
            "comment_public": record["public"],
            "event_type": "Comment",
        }
    return orjson.dumps(
        {
            "id": audit,
            "ticket_id": record["ticket_id"],
            "timestamp": key >> ID_BITS,
            "created_at": record["updated_at"],
            "updater_id": record["author_id"],
            "via": "Web form",
            "via_reference_id": None,
            "event_type": "Audit",
            "child_events": [child],
        }
    )
