"""The client secret and access tokens never land anywhere a run leaves behind."""

import dataclasses
import logging
from pathlib import Path

import dagster as dg
import pytest

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import CLIENT_SECRET, materialize


def files_containing(root: Path, needles: list[bytes]) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += [f"{path.relative_to(root)}: {n!r}" for n in needles if n in data]
    return hits


def test_secret_canary_and_tokens_appear_nowhere_a_run_leaves_behind(
    api_env: SandboxServer,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    settings = dataclasses.replace(settings, keep_run_files=True)
    (tmp_path / "dagster_home").mkdir()
    instance = dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "dagster_home"))
    # A good run with retries and token renewals, then failing runs of each kind.
    api_env.set_faults(
        {"name": "token_revoke", "every": 3}, {"name": "rate_limit", "ratio": 0.2, "retry_after": 0}
    )
    assert materialize(settings, instance=instance).success
    api_env.update("tickets", 150)
    api_env.set_faults({"name": "malformed_page", "offset": 99})  # the second page (overlap)
    assert not materialize(settings, instance=instance).success
    api_env.set_faults({"name": "server_errors", "ratio": 1.0})
    no_retries = dataclasses.replace(
        settings, retry=dataclasses.replace(settings.retry, max_retries=0)
    )
    assert not materialize(no_retries, instance=instance).success
    monkeypatch.setenv("SUPPORT_API_CLIENT_SECRET", CLIENT_SECRET + "-wrong")
    assert not materialize(settings, instance=instance).success

    needles = [CLIENT_SECRET.encode(), b"Bearer "]
    # Everything on disk: Dagster's event log and compute logs, dlt's working files (trace,
    # state, packages), and the warehouse itself.
    assert files_containing(tmp_path, needles) == []
    output = capfd.readouterr()
    logged = caplog.text + output.out + output.err
    assert CLIENT_SECRET not in logged
    assert "Bearer " not in logged
    assert list(Path(settings.dlt_dir).rglob("trace*")), "the dlt trace was kept and scanned"
