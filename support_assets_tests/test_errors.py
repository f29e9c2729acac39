"""Errors that name the setting to change, and leave the warehouse as it was."""

import dataclasses
import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings, SettingsError
from support_assets_tests.helpers import (
    CLIENT_SECRET,
    failure_message,
    free_port,
    holding_duckdb_lock,
    materialize,
    table_exists,
    warehouse_rows,
)


def test_an_unreachable_token_url_names_the_token_url_setting(
    api_env: SandboxServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{free_port()}/oauth/token"
    monkeypatch.setenv("SUPPORT_API_TOKEN_URL", url)
    settings = dataclasses.replace(settings, token_url=url)

    result = materialize(settings)

    assert not result.success
    message = failure_message(result)
    assert f"could not reach the token URL {url} (ConnectionError" in message
    assert "Check SUPPORT_API_TOKEN_URL" in message
    assert "Check that the API is reachable (SUPPORT_API_BASE_URL)" not in message
    assert api_env.stats()["requests"] == {}  # the data API was never called


def test_a_page_size_above_the_vendors_maximum_shows_its_message_and_the_setting(
    api_env: SandboxServer, settings: Settings
) -> None:
    settings = dataclasses.replace(settings, api=dataclasses.replace(settings.api, page_size=500))

    result = materialize(settings)

    assert not result.success
    message = failure_message(result)
    assert "was refused with HTTP 400: " in message
    assert "limit must be an integer from 1 to 100, got '500'; invalid_request" in message
    assert "lower SUPPORT_PAGE_SIZE" in message
    assert not table_exists(settings, "support_tickets")


def test_a_start_date_in_the_future_is_refused_naming_the_setting() -> None:
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)

    with pytest.raises(SettingsError, match=rf"SUPPORT_START_DATE={tomorrow} is in the future"):
        Settings.from_env({"SUPPORT_START_DATE": tomorrow.isoformat()})
    today = dt.datetime.now(dt.UTC).date()
    assert Settings.from_env({"SUPPORT_START_DATE": today.isoformat()}).start_date == today


@pytest.mark.parametrize("shape", ["parent-is-a-file", "path-is-a-directory"])
def test_an_unwritable_duckdb_path_names_the_setting(
    api_env: SandboxServer, settings: Settings, tmp_path: Path, shape: str
) -> None:
    if shape == "parent-is-a-file":
        (tmp_path / "not_a_dir").write_text("")
        path = tmp_path / "not_a_dir" / "warehouse.duckdb"
    else:
        path = tmp_path / "a_dir.duckdb"
        path.mkdir()
    settings = dataclasses.replace(settings, duckdb_path=str(path))

    result = materialize(settings)

    assert not result.success
    message = failure_message(result)
    assert f"SUPPORT_DUCKDB_PATH={str(path)!r} cannot be written" in message
    assert "internet connection" not in message
    assert api_env.stats()["requests"] == {}


def test_a_wrong_secret_leaves_no_duckdb_file_behind(
    api_env: SandboxServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORT_API_CLIENT_SECRET", "not-the-" + CLIENT_SECRET)

    result = materialize(settings)

    assert not result.success
    assert "credentials rejected" in failure_message(result)
    assert sorted(p.name for p in Path(settings.duckdb_path).parent.glob("warehouse*")) == []
    # A warehouse that existed before keeps its tables and cursor.
    monkeypatch.setenv("SUPPORT_API_CLIENT_SECRET", CLIENT_SECRET)
    assert materialize(settings).success
    before = warehouse_rows(settings, "select count(*) from support.support_tickets")
    monkeypatch.setenv("SUPPORT_API_CLIENT_SECRET", "not-the-" + CLIENT_SECRET)
    assert not materialize(settings).success
    assert warehouse_rows(settings, "select count(*) from support.support_tickets") == before


def test_when_the_lock_retries_run_out_the_message_says_so(
    api_env: SandboxServer, settings: Settings
) -> None:
    settings = dataclasses.replace(settings, lock_retry_wait=0.2, lock_retries=1)
    with holding_duckdb_lock(settings.duckdb_path):
        result = materialize(settings, instance=dg.DagsterInstance.ephemeral())

    assert not result.success
    message = failure_message(result)
    assert "still after 1 retries 0.2 s apart" in message
    assert "SUPPORT_LOCK_RETRIES" in message
    assert "is retried in" not in message
