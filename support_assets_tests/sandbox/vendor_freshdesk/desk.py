"""What the freshdesk emulator's tests share: names, a client, helpers."""

import base64
import calendar
import time
from typing import Any

import requests

from support_assets.sandbox import SandboxServer

KEY = "sandbox-secret"  # Config.client_secret is the API key


TICKETS_PATH = "/api/v2/tickets"


EPOCH = "1970-01-01T00:00:00Z"


LOADER = {"order_by": "updated_at", "order_type": "asc", "per_page": 100, "include": "description"}


UNAUTHORIZED = {
    "code": "invalid_credentials",
    "message": "You have to be logged in to perform this action.",
}


def invalid(field: str, message: str, code: str = "invalid_value") -> dict[str, Any]:
    return {
        "description": "Validation failed",
        "errors": [{"field": field, "message": message, "code": code}],
    }


class Desk:
    """A keep-alive client holding the API key, like a loader's HTTP session."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.trust_env = False  # loopback: no proxies from the environment
        self.session.auth = (KEY, "X")

    def close(self) -> None:
        self.session.close()

    def get(self, path: str = TICKETS_PATH, **params: Any) -> requests.Response:
        return self.session.get(self.sandbox.url + path, params=params, timeout=10)

    def ok(self, path: str = TICKETS_PATH, **params: Any) -> list[dict[str, Any]]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def follow(self, path: str = TICKETS_PATH, **params: Any) -> list[dict[str, Any]]:
        """Every page by following `Link: rel=next`, as a page-number client does."""
        response = self.get(path, **params)
        records = response.json()
        while "next" in response.links:
            response = self.session.get(response.links["next"]["url"], timeout=10)
            assert response.status_code == 200, response.text
            records += response.json()
        return records


class Loader:
    """The loader the emulator is built for: re-seek on updated_since, page 1, merge on id.

    Two passes (the default list and `filter=deleted`), each with its own cursor; a page
    whose records all share the cursor's second follows the page number instead, since a
    re-seek would return it again. Conversations are read for every ticket seen with a new
    updated_at, and replace what was held for that ticket.
    """

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.tickets: dict[int, dict[str, Any]] = {}
        self.conversations: dict[int, list[dict[str, Any]]] = {}
        self.cursors: dict[str, str] = {"": EPOCH, "deleted": EPOCH}
        self.requests = {"list": 0, "conversations": 0}

    def run(self) -> dict[str, int]:
        before = dict(self.requests)
        changed: dict[int, None] = {}
        for name in self.cursors:
            cursor, page = self.cursors[name], 1
            while True:
                extra = {"filter": name} if name else {}
                response = self.desk.get(**LOADER, updated_since=cursor, page=page, **extra)
                assert response.status_code == 200, response.text
                self.requests["list"] += 1
                records = response.json()
                for ticket in records:
                    held = self.tickets.get(ticket["id"])
                    if held is None or held["updated_at"] != ticket["updated_at"]:
                        changed[ticket["id"]] = None
                    self.tickets[ticket["id"]] = ticket
                last = records[-1]["updated_at"] if records else cursor
                if "next" not in response.links:
                    self.cursors[name] = last
                    break
                cursor, page = (cursor, page + 1) if last == cursor else (last, 1)
        for ident in changed:
            path = f"{TICKETS_PATH}/{ident}/conversations"
            response = self.desk.get(path, per_page=100)
            self.requests["conversations"] += 1
            records = response.json()
            while "next" in response.links:
                response = self.desk.session.get(response.links["next"]["url"], timeout=10)
                self.requests["conversations"] += 1
                records += response.json()
            self.conversations[ident] = records
        return {kind: count - before[kind] for kind, count in self.requests.items()}

    def comments(self) -> list[dict[str, Any]]:
        return [c for records in self.conversations.values() for c in records]


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def by_id(records: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {record["id"]: record for record in records}


def epoch(stamp: str) -> int:
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


def live(tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [ticket for ticket in tickets if not ticket.get("deleted")]


def stripped(ticket: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in ticket.items() if k not in ("description", "description_text")}
