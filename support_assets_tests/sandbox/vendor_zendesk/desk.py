"""What the zendesk emulator's tests share: names, a client, helpers."""

import base64
import calendar
import time
from typing import Any

import requests

from support_assets.sandbox import SandboxServer
from support_assets_tests.sandbox.sandbox_fixtures import ANCHOR

EMAIL, SECRET = "sandbox-client", "sandbox-secret"


API_TOKEN = (f"{EMAIL}/token", SECRET)


TICKETS_PATH = "/api/v2/incremental/tickets/cursor.json"


EVENTS_PATH = "/api/v2/incremental/ticket_events.json"


NO_AUTH = {"error": "Couldn't authenticate you"}


ANCHOR_EPOCH = calendar.timegm(time.strptime(ANCHOR, "%Y-%m-%dT%H:%M:%SZ"))


FROZEN = {"name": "desk_clock", "frozen": 1}  # one desk second for the whole test


class Desk:
    """A keep-alive client of the emulated desk, signed in with an API token by default."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.trust_env = False  # loopback: no proxies from the environment
        self.session.auth = API_TOKEN
        self.bare = requests.Session()  # no credentials of its own
        self.bare.trust_env = False

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.server.url + path, params=params, timeout=10)

    def ok(self, url: str, **params: Any) -> dict[str, Any]:
        response = self.session.get(url, params=params, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def token(self, **kwargs: Any) -> requests.Response:
        return self.bare.post(self.server.url + "/oauth/tokens", timeout=10, **kwargs)

    def bearer(self) -> dict[str, str]:
        """An Authorization header with a fresh OAuth token."""
        form = {"grant_type": "client_credentials", "client_id": EMAIL, "client_secret": SECRET}
        return {"Authorization": f"Bearer {self.token(json=form).json()['access_token']}"}

    def ticket_pages(self, **params: Any) -> list[dict[str, Any]]:
        """Every page of the ticket export, following `after_url` until `end_of_stream`."""
        pages = [self.ok(self.server.url + TICKETS_PATH, **params)]
        while not pages[-1]["end_of_stream"]:
            pages.append(self.ok(pages[-1]["after_url"]))
        return pages

    def event_pages(self, **params: Any) -> list[dict[str, Any]]:
        """Every page of the ticket-event export, following `next_page` until `end_of_stream`."""
        pages = [self.ok(self.server.url + EVENTS_PATH, **params)]
        while not pages[-1]["end_of_stream"]:
            pages.append(self.ok(pages[-1]["next_page"]))
        return pages


def tickets_of(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [ticket for page in pages for ticket in page["tickets"]]


def comments_of(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The comment rows a loader keeps: each Comment child plus its event's ticket_id."""
    return [
        {**child, "ticket_id": event["ticket_id"]}
        for page in pages
        for event in page["ticket_events"]
        for child in event["child_events"]
        if child["event_type"] == "Comment"
    ]


def merged(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge on id, the last version winning, in the order of each id's last appearance."""
    by_id: dict[int, dict[str, Any]] = {}
    for row in rows:
        by_id.pop(row["id"], None)
        by_id[row["id"]] = row
    return list(by_id.values())


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
