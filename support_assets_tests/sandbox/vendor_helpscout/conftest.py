"""The helpscout emulator, one per package of tests, fresh data per test."""

from collections.abc import Iterator

import pytest

from support_assets.sandbox import SandboxServer
from support_assets_tests.sandbox.sandbox_fixtures import small_sandbox
from support_assets_tests.sandbox.vendor_helpscout.desk import (
    HelpScout,
)


@pytest.fixture(scope="package")
def sandbox() -> Iterator[SandboxServer]:
    with small_sandbox(vendor="helpscout") as server:
        yield server


@pytest.fixture
def desk(sandbox: SandboxServer) -> Iterator[HelpScout]:
    sandbox.reset()
    client = HelpScout(sandbox)
    client.login()
    yield client
    client.close()
