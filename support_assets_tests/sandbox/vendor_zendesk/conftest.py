"""The zendesk emulator, one per package of tests, fresh data per test."""

from collections.abc import Iterator

import pytest

from support_assets.sandbox import SandboxServer
from support_assets_tests.sandbox.sandbox_fixtures import small_sandbox
from support_assets_tests.sandbox.vendor_zendesk.desk import (
    Desk,
)


@pytest.fixture(scope="package")
def zendesk() -> Iterator[SandboxServer]:
    with small_sandbox(vendor="zendesk") as server:
        yield server


@pytest.fixture
def desk(zendesk: SandboxServer) -> Iterator[Desk]:
    """A client of the emulator on freshly reset data."""
    zendesk.reset()
    client = Desk(zendesk)
    yield client
    client.session.close()
    client.bare.close()
