"""Emulators of real desks (Zendesk, Freshdesk, Help Scout) over the sandbox's data.

`--vendor NAME` (or `SandboxServer(vendor=NAME)`) serves the same seeded, live records in
that desk's documented shape: its auth, routes, pagination, filters, errors and rate-limit
headers, with the sandbox's faults applied the desk's way. `generic` (the default) is the
reference contract itself, served by the app without an emulator.

Each emulator is one module here with a class implementing `Desk`; its module docstring
cites the public docs or connector code behind each behaviour (the research is in
docs/vendors.md) and marks what is a guess.
"""

import importlib
from typing import TYPE_CHECKING, Any, Protocol

from support_assets.sandbox.asgi import Receive, Response

if TYPE_CHECKING:
    from support_assets.sandbox.app import SandboxApp
    from support_assets.sandbox.state import Sandbox

# name -> module holding `DESK`, an instance of a `Desk` implementation.
VENDORS = {
    "zendesk": "support_assets.sandbox.vendors.zendesk",
    "freshdesk": "support_assets.sandbox.vendors.freshdesk",
    "helpscout": "support_assets.sandbox.vendors.helpscout",
}
GENERIC = "generic"


class Desk(Protocol):
    """What an emulator provides; the app routes every non-control request to it."""

    name: str

    async def handle(
        self, app: "SandboxApp", scope: dict[str, Any], receive: Receive
    ) -> Response | None:
        """Answer one request, or None when the path is not one of the desk's routes."""
        ...

    def truth(self, sandbox: "Sandbox", resource: str) -> bytes:
        """Every current record of `resource` (tickets or comments) in the desk's shape.

        A JSON array: what a loader of this desk should end up with.
        """
        ...


_LOADED: dict[str, Desk] = {}


def desk(name: str) -> Desk | None:
    """The emulator for `name`, imported on first use; None for the reference contract."""
    if name == GENERIC:
        return None
    if name not in _LOADED:
        _LOADED[name] = importlib.import_module(VENDORS[name]).DESK
    return _LOADED[name]


def check_vendor(name: str) -> str:
    """`name` if it is `generic` or an emulated desk; a ValueError naming the choices."""
    if name != GENERIC and name not in VENDORS:
        raise ValueError(f"vendor must be one of {', '.join([GENERIC, *VENDORS])}, got {name!r}")
    return name
