"""The alert tests' fixtures: a webhook receiver, a dead webhook, real Dagster instances."""

import dataclasses
import socket
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from support_assets.settings import Settings
from support_assets_tests.alerts.alert_fixtures import HOOK_PATH, UI, Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def dead_webhook() -> Iterator[str]:
    """A loopback URL that refuses connections: the port is bound but never listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}{HOOK_PATH}"


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A real instance without run retries, as `dagster dev` starts by default."""
    (tmp_path / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster_home")) as instance:
        yield instance


@pytest.fixture
def retrying_instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A real instance with run retries on (`run_retries.enabled` in dagster.yaml)."""
    (tmp_path / "dagster_home").mkdir()
    with dg.instance_for_test(
        temp_dir=str(tmp_path / "dagster_home"), overrides={"run_retries": {"enabled": True}}
    ) as instance:
        yield instance


@pytest.fixture
def alert_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, ui_base_url=UI)
