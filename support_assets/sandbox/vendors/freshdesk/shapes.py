"""Store records in Freshdesk's shapes: a ticket of the list, a conversation of a ticket.

The sources and guesses behind each field are in the package docstring.
"""

import html
from typing import Any

STATUS = {"new": 2, "open": 2, "pending": 3, "solved": 4, "closed": 5}
PRIORITY = {"low": 1, "normal": 2, "high": 3, "urgent": 4}
INCLUDES = ("description", "requester", "stats")
CLOSED = 5  # what a deleted ticket shows: the store forgets the status it had


def as_html(text: str) -> str:
    """The store's plain text as Freshdesk-style HTML: a `<div>` per paragraph."""
    return "".join(
        f"<div>{html.escape(paragraph).replace(chr(10), '<br>')}</div>"
        for paragraph in text.split("\n\n")
    )


def render_ticket(record: dict[str, Any], include: tuple[str, ...] = ()) -> dict[str, Any]:
    """One store ticket in Freshdesk's shape, with what `include` embeds."""
    deleted = record["status"] == "deleted"
    status = CLOSED if deleted else STATUS.get(record["status"], 2)
    ticket: dict[str, Any] = {
        "id": record["id"],
        "subject": record["subject"],
        "status": status,
        "priority": PRIORITY.get(record["priority"], 1),  # null: Freshdesk's default, Low
        "requester_id": record["requester_id"],
        "responder_id": record["assignee_id"],
        "tags": record["tags"],
        "custom_fields": {f"cf_{key}": value for key, value in record["custom_fields"].items()},
        "spam": False,
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
    }
    if deleted:
        ticket["deleted"] = True
    if "description" in include:
        ticket["description"] = as_html(record["description"])
        ticket["description_text"] = record["description"]
    if "requester" in include:
        ident = record["requester_id"]
        ticket["requester"] = {
            "id": ident,
            "name": f"Requester {ident}",
            "email": f"requester{ident}@example.com",
            "mobile": None,
            "phone": None,
        }
    if "stats" in include:
        updated = record["updated_at"]
        ticket["stats"] = {
            "agent_responded_at": None,
            "requester_responded_at": None,
            "first_responded_at": None,
            "status_updated_at": updated,
            "reopened_at": None,
            "resolved_at": updated if status in (4, 5) else None,
            "closed_at": updated if status == 5 else None,
            "pending_since": updated if status == 3 else None,
        }
    return ticket


def render_conversation(record: dict[str, Any], requester_id: int) -> dict[str, Any]:
    """One store comment as a conversation of a ticket whose requester is `requester_id`."""
    return {
        "id": record["id"],
        "body": as_html(record["body"]),
        "body_text": record["body"],
        "incoming": record["author_id"] == requester_id,
        "private": not record["public"],
        "user_id": record["author_id"],
        "ticket_id": record["ticket_id"],
        "source": 0 if record["public"] else 2,  # a reply, or a note
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
    }
