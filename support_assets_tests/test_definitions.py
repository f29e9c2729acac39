"""The code location as users load it: the real `dagster` and `dg` CLIs, and its files."""

import os
import tomllib
from pathlib import Path

import yaml

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings, SettingsError
from support_assets_tests.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    COMMENTS,
    TICKETS,
    run_cli,
    today,
    venv_bin,
    warehouse_rows,
)

ROOT = Path(__file__).resolve().parents[1]
LOCATION = "support_assets.definitions"


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORT_")}
    return {**env, **extra}


def test_location_module_is_the_same_everywhere_it_is_named() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    cloud = yaml.safe_load((ROOT / "dagster_cloud.yaml").read_text())

    assert pyproject["tool"]["dagster"]["module_name"] == LOCATION
    assert pyproject["tool"]["dg"]["project"]["code_location_target_module"] == LOCATION
    assert workspace["load_from"][0]["python_module"]["module_name"] == LOCATION
    assert cloud["locations"][0]["code_source"]["module_name"] == LOCATION


def test_importing_the_location_reads_no_environment(tmp_path: Path) -> None:
    # Loading without any SUPPORT_* variable set works; the settings are read at load.
    code = f"import {LOCATION} as m; m.defs()"
    python = str(Path(venv_bin("dagster")).parent / "python")
    result = run_cli(
        [python, "-c", code],
        cli_env(SUPPORT_SCHEMA_CONTRACT="not-a-contract"),
        ROOT,
    )
    # The bad setting is only noticed when the definitions load, with a message naming it.
    assert result.returncode != 0
    assert "SUPPORT_SCHEMA_CONTRACT='not-a-contract'" in result.stderr
    assert (
        run_cli(
            [python, "-c", f"import {LOCATION}"], cli_env(SUPPORT_SCHEMA_CONTRACT="x"), ROOT
        ).returncode
        == 0
    )


def test_dg_check_defs_passes() -> None:
    result = run_cli([venv_bin("dg"), "check", "defs"], cli_env(), ROOT)

    assert result.returncode == 0, result.stdout + result.stderr


def test_dagster_asset_materialize_cli_loads_both_tables(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    warehouse = tmp_path / "cli_warehouse.duckdb"
    env = cli_env(
        SUPPORT_API_BASE_URL=sandbox.url,
        SUPPORT_API_CLIENT_ID=CLIENT_ID,
        SUPPORT_API_CLIENT_SECRET=CLIENT_SECRET,
        SUPPORT_DUCKDB_PATH=str(warehouse),
        SUPPORT_DLT_DIR=str(tmp_path / "dlt"),
        DAGSTER_HOME=str(tmp_path),
    )

    result = run_cli(
        [
            venv_bin("dagster"),
            "asset",
            "materialize",
            "--select",
            "*",
            "--partition",
            today(),
            "-m",
            LOCATION,
        ],
        env,
        tmp_path,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    settings = Settings(duckdb_path=str(warehouse))
    assert warehouse_rows(
        settings,
        "select (select count(*) from support.support_tickets), "
        "(select count(*) from support.ticket_comments)",
    ) == [(TICKETS, COMMENTS)]
    assert CLIENT_SECRET not in result.stdout + result.stderr


def test_settings_errors_name_the_variable() -> None:
    cases = {
        "SUPPORT_PAGE_SIZE": ("zero", "SUPPORT_PAGE_SIZE='zero' is not a whole number"),
        "SUPPORT_MAX_RETRIES": ("-1", "SUPPORT_MAX_RETRIES=-1 must be at least 0"),
        "SUPPORT_START_DATE": ("yesterday", "SUPPORT_START_DATE='yesterday' is not a date"),
        "SUPPORT_RETRY_STATUSES": ("429,5xx", "SUPPORT_RETRY_STATUSES='429,5xx'"),
        "SUPPORT_DUCKDB_MEMORY_LIMIT": (
            "lots",
            "SUPPORT_DUCKDB_MEMORY_LIMIT='lots' is not a memory size such as 128MB",
        ),
    }
    for name, (value, message) in cases.items():
        try:
            Settings.from_env({name: value})
        except SettingsError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"{name}={value} was accepted")


def test_every_vendor_name_is_a_setting_with_the_contract_default() -> None:
    default = Settings.from_env({})
    vendor = Settings.from_env(
        {
            "SUPPORT_TICKETS_PATH": "/api/v2/incremental/tickets",
            "SUPPORT_TICKETS_SELECTOR": "results",
            "SUPPORT_COMMENTS_PATH": "/api/v2/comments",
            "SUPPORT_COMMENTS_SELECTOR": "items",
            "SUPPORT_OFFSET_PARAM": "skip",
            "SUPPORT_LIMIT_PARAM": "per_page",
            "SUPPORT_PAGE_SIZE": "50",
            "SUPPORT_TOTAL_PATH": "",
            "SUPPORT_CURSOR_FIELD": "modified_at",
            "SUPPORT_SINCE_PARAM": "start_time",
            "SUPPORT_BEFORE_PARAM": "end_time",
        }
    )

    assert default == Settings()
    assert (default.api.tickets.path, default.api.tickets.data_selector) == (
        "/v1/tickets",
        "tickets",
    )
    assert vendor.api.tickets.data_selector == "results"
    assert vendor.api.offset_param == "skip" and vendor.api.limit_param == "per_page"
    assert vendor.api.total_path is None
    assert vendor.api.cursor_field == "modified_at"
    assert (vendor.api.since_param, vendor.api.before_param) == ("start_time", "end_time")


def test_every_setting_is_documented_in_the_readme_and_env_example() -> None:
    import re

    code = "".join(p.read_text() for p in (ROOT / "support_assets" / "settings").glob("*.py"))
    code += (ROOT / "support_assets" / "definitions.py").read_text()
    names = set(re.findall(r'"(SUPPORT_[A-Z_]+)"', code)) | {"SUPPORT_ALERT_WEBHOOK_URL"}
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()

    assert len(names) > 30
    assert sorted(n for n in names if n not in readme) == []
    assert sorted(n for n in names if f"{n}=" not in example) == []
