"""What the helpscout emulator's tests share: names, a client, helpers."""

from typing import Any

import requests

from support_assets.sandbox import SandboxServer
from support_assets_tests.sandbox.sandbox_fixtures import CLIENT

TOKEN = "/v2/oauth2/token"


LIST = "/v2/conversations"


LOADER = {"status": "all", "sortField": "modifiedAt", "sortOrder": "asc", "embed": "threads"}


INVALID_CLIENT = {"error": "invalid_client", "error_description": "Invalid client authentication"}


FORM = {"grant_type": "client_credentials", "client_id": CLIENT[0], "client_secret": CLIENT[1]}


class HelpScout:
    """A keep-alive client of the emulated desk, and the loader a Help Scout preset runs."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.trust_env = False

    def close(self) -> None:
        self.session.close()

    def token(self, **kwargs: Any) -> requests.Response:
        return self.session.post(self.sandbox.url + TOKEN, timeout=10, **kwargs)

    def login(self) -> None:
        response = self.token(data=FORM)
        assert response.status_code == 200, response.text
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def get(self, path: str = LIST, **params: Any) -> requests.Response:
        return self.session.get(self.sandbox.url + path, params=params, timeout=10)

    def page(self, path: str = LIST, **params: Any) -> dict[str, Any]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def walk(self, path: str = LIST, **params: Any) -> list[dict[str, Any]]:
        """Every page by following `_links.next`, as dlt's JSONLink paginator does."""
        rel = "threads" if path.endswith("/threads") else "conversations"
        response = self.get(path, **params)
        pages = []
        while True:
            assert response.status_code == 200, response.text
            pages.append(response.json())
            following = pages[-1]["_links"].get("next")
            if following is None:
                return [record for page in pages for record in page["_embedded"][rel]]
            response = self.session.get(following["href"], timeout=10)

    def load(self, cursor: str | None = None) -> tuple[dict[int, dict[str, Any]], str | None]:
        """The preset's loader: page 1 from the cursor again after every page, merged on id.

        A page wholly inside the cursor's second cannot move the cursor; only then is the
        next page number taken.
        """
        merged: dict[int, dict[str, Any]] = {}
        page = 1
        while True:
            params = {**LOADER, "page": page}
            if cursor is not None:
                params["modifiedSince"] = cursor
            body = self.page(**params)
            conversations = body["_embedded"]["conversations"]
            for conversation in conversations:
                merged[conversation["id"]] = conversation
            if "next" not in body["_links"]:
                return merged, conversations[-1]["userUpdatedAt"] if conversations else cursor
            last = conversations[-1]["userUpdatedAt"]
            cursor, page = (cursor, page + 1) if last == cursor else (last, 1)


def split(conversations: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """Conversations without `_embedded`, and their threads with `ticket_id`, as a loader does."""
    tickets, comments = [], []
    for conversation in conversations:
        record = dict(conversation)
        threads = record.pop("_embedded")["threads"]
        tickets.append(record)
        comments += [{**thread, "ticket_id": record["id"]} for thread in threads]
    return tickets, comments


def by_id(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda record: record["id"])
