"""The sandbox's own tests: one small server with pinned data per module, reset per test."""

from collections.abc import Iterator

import pytest

from support_assets.sandbox import SandboxServer
from support_assets_tests.sandbox.sandbox_fixtures import Api, small_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """Overrides the suite's session sandbox: these tests need the pinned data set."""
    with small_sandbox() as server:
        yield server


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[Api]:
    """A logged-in client on freshly reset data."""
    sandbox.reset()
    client = Api(sandbox)
    client.login()
    yield client
    client.close()
