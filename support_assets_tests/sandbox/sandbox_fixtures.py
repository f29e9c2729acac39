"""Helpers shared by the sandbox tests: a small server and a thin API client over requests."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from support_assets.sandbox import SandboxServer

ANCHOR = "2026-06-30T12:00:00Z"  # pinned, so the data is the same on every run
TICKETS, COMMENTS = 250, 600
PATHS = {"tickets": "/v1/tickets", "comments": "/v1/ticket_comments"}
CLIENT = ("sandbox-client", "sandbox-secret")


@contextmanager
def small_sandbox(**options: Any) -> Iterator[SandboxServer]:
    """A sandbox with the tests' small, pinned data set."""
    options = {"tickets": TICKETS, "comments": COMMENTS, "anchor": ANCHOR, **options}
    with SandboxServer(**options) as server:
        yield server


class Api:
    """A keep-alive client holding one bearer token, like a pipeline's HTTP session."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.trust_env = False  # loopback: no proxies from the environment

    def close(self) -> None:
        self.session.close()

    def token(
        self, data: dict[str, str] | None = None, auth: tuple[str, str] | None = CLIENT
    ) -> requests.Response:
        form = {"grant_type": "client_credentials"} if data is None else data
        return self.session.post(self.sandbox.token_url, data=form, auth=auth, timeout=10)

    def login(self) -> str:
        response = self.token()
        response.raise_for_status()
        token = response.json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"
        return token

    def get(self, resource: str, **params: Any) -> requests.Response:
        return self.session.get(self.sandbox.url + PATHS[resource], params=params, timeout=10)

    def page(self, resource: str, **params: Any) -> dict[str, Any]:
        response = self.get(resource, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def all_pages(self, resource: str, limit: int = 100, **params: Any) -> list[dict[str, Any]]:
        """Every record by offset pagination, until a short page."""
        records: list[dict[str, Any]] = []
        while True:
            page = self.page(resource, offset=len(records), limit=limit, **params)
            records += page[resource]
            if len(page[resource]) < limit:
                return records


def order_key(record: dict[str, Any]) -> tuple[str, int]:
    """The contract's order: updated_at, then id (same-format UTC strings sort as time)."""
    return record["updated_at"], record["id"]
