"""The freshdesk emulator, one per package of tests, fresh data per test."""

from collections.abc import Iterator
from typing import Any

import pytest

from support_assets.sandbox import SandboxServer
from support_assets_tests.sandbox.sandbox_fixtures import small_sandbox
from support_assets_tests.sandbox.vendor_freshdesk.desk import (
    Desk,
)


@pytest.fixture(scope="package")
def sandbox() -> Iterator[SandboxServer]:
    """The suite's pinned data set, served as Freshdesk."""
    with small_sandbox(vendor="freshdesk") as server:
        yield server


@pytest.fixture
def desk(sandbox: SandboxServer) -> Iterator[Desk]:
    sandbox.reset()
    client = Desk(sandbox)
    yield client
    client.close()


@pytest.fixture
def truth(desk: Desk) -> list[dict[str, Any]]:
    return desk.sandbox.truth("tickets")
