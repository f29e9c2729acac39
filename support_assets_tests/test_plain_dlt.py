"""The source under plain dlt, in a process without Dagster: config, cursor, window, errors."""

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets.source import support_source, support_source_names_only
from support_assets.source.spec import SupportDeskConfiguration
from support_assets_tests.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    COMMENTS,
    TICKETS,
    materialize,
    pages_for,
    warehouse_rows,
)
from support_assets_tests.test_incremental import CLEAN, compare
from support_assets_tests.test_secrets import files_containing

ROOT = Path(__file__).resolve().parents[1]
# Apart from the Dagster runs' warehouse (the `settings` fixture's), for the test that
# compares the two.
PLAIN_WAREHOUSE = "plain.duckdb"

# First in every script: a finder that makes `import dagster` fail, as it would where
# Dagster is not installed.
NO_DAGSTER = """
import sys

DAGSTER = ("dagster", "dagster_dlt")

class NoDagster:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in DAGSTER:
            raise ImportError(f"No module named {name!r} (blocked: plain dlt has no Dagster)")
        return None

sys.meta_path.insert(0, NoDagster())
"""
# The script a plain-dlt user writes; it prints the cursors dlt keeps in its state.
PLAIN_DLT_RUN = (
    NO_DAGSTER
    + """
import json
import dlt
from support_assets.source import support_source

duckdb_path, pipelines_dir, arguments = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
pipeline = dlt.pipeline(
    pipeline_name="support_desk",
    destination=dlt.destinations.duckdb(duckdb_path),
    dataset_name="support",
    pipelines_dir=pipelines_dir,
)
pipeline.run(support_source(**arguments))
state = pipeline.state.get("sources", {}).get("support_desk", {})
resources = state.get("resources", {})
print(json.dumps({
    "cursors": {
        name: state["incremental"]["updated_at"]["last_value"]
        for name, state in resources.items()
        if "incremental" in state
    },
    "dagster_modules": sorted(m for m in sys.modules if m.partition(".")[0] in DAGSTER),
}, default=str))
"""
)


def run_plain_dlt(
    tmp_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    run: str = "first",
    **arguments: Any,
) -> subprocess.CompletedProcess[str]:
    """Run the plain-dlt script in a fresh process whose environment holds only `env`.

    Each `run` gets a pipelines dir of its own, so the cursor a run continues from can only
    come from the destination, where dlt stores it with the data.
    """
    process_env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "DLT_DATA_DIR": str(tmp_path / "dlt_home"),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        **(env or {}),
    }
    command = [sys.executable, "-c", PLAIN_DLT_RUN, str(tmp_path / PLAIN_WAREHOUSE)]
    command += [str(tmp_path / "pipelines" / run), json.dumps(arguments)]
    return subprocess.run(
        command, env=process_env, cwd=cwd or tmp_path, capture_output=True, text=True, timeout=300
    )


def outcome(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """What a successful run printed: its cursors, and the Dagster modules it imported."""
    assert result.returncode == 0, result.stderr[-4000:]
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["dagster_modules"] == []
    return printed


def source_env(sandbox: SandboxServer) -> dict[str, str]:
    """The sandbox's URL and credentials as dlt's own variables, and nothing else."""
    return {
        "SOURCES__SUPPORT_DESK__BASE_URL": sandbox.url,
        "SOURCES__SUPPORT_DESK__CLIENT_ID": CLIENT_ID,
        "SOURCES__SUPPORT_DESK__CLIENT_SECRET": CLIENT_SECRET,
    }


def warehouse(tmp_path: Path) -> Settings:
    """The plain run's DuckDB file, as the comparison helpers read it."""
    return Settings(duckdb_path=str(tmp_path / PLAIN_WAREHOUSE))


def at(value: str) -> dt.datetime:
    """A timestamp as the API or dlt's state writes it, or a date (00:00 UTC)."""
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def test_plain_dlt_loads_every_record_with_credentials_from_dlt_variables(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    printed = outcome(run_plain_dlt(tmp_path, source_env(sandbox), start_date="2024-01-01"))

    assert compare(warehouse(tmp_path), sandbox, "tickets", "support_tickets") == CLEAN
    assert compare(warehouse(tmp_path), sandbox, "comments", "ticket_comments") == CLEAN
    assert warehouse_rows(warehouse(tmp_path), "select count(*) from support.support_tickets") == [
        (TICKETS,)
    ]
    assert warehouse_rows(warehouse(tmp_path), "select count(*) from support.ticket_comments") == [
        (COMMENTS,)
    ]
    # The incremental load left its cursor at the newest record, in dlt's state.
    newest = max(at(r["updated_at"]) for r in sandbox.truth("tickets"))
    assert at(printed["cursors"]["support_tickets"]) == newest
    assert sandbox.stats()["token_grants"] == 1


def test_a_plain_run_leaves_the_secret_nowhere(sandbox: SandboxServer, tmp_path: Path) -> None:
    # dlt's trace records the config values it resolved; the spec marks the secret as one.
    env = {**source_env(sandbox), "RUNTIME__LOG_LEVEL": "DEBUG"}

    result = run_plain_dlt(tmp_path, env)

    outcome(result)
    assert files_containing(tmp_path, [CLIENT_SECRET.encode(), b"Bearer "]) == []
    assert CLIENT_SECRET not in result.stdout + result.stderr


def test_second_plain_run_reads_only_what_changed_from_the_cursor_in_the_destination(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = source_env(sandbox)
    outcome(run_plain_dlt(tmp_path, env, run="first"))
    cursor = max(at(r["updated_at"]) for r in sandbox.truth("tickets"))
    updated = sandbox.update("tickets", 30)
    sandbox.reset_stats()

    outcome(run_plain_dlt(tmp_path, env, run="second"))

    assert len(updated) == 30
    assert compare(warehouse(tmp_path), sandbox, "tickets", "support_tickets") == CLEAN
    # From the stored cursor (inclusive: its ties are read again), not from start_date.
    since_cursor = sum(at(r["updated_at"]) >= cursor for r in sandbox.truth("tickets"))
    assert sandbox.stats()["records_served"]["tickets"] == since_cursor
    assert sandbox.stats()["requests"]["GET /v1/tickets"] == {"200": 1}


def test_end_date_loads_exactly_the_window_and_leaves_the_cursor(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    truth = sandbox.truth("tickets")
    stamps = sorted(r["updated_at"] for r in truth)
    start = f"{stamps[len(stamps) // 3][:10]}T06:00:00Z"  # an ISO datetime
    end = stamps[2 * len(stamps) // 3][:10]  # a date
    in_window = sorted(r["id"] for r in truth if at(start) <= at(r["updated_at"]) < at(end))
    env = source_env(sandbox)

    printed = outcome(run_plain_dlt(tmp_path, env, run="window", start_date=start, end_date=end))

    loaded = warehouse_rows(
        warehouse(tmp_path), "select id from support.support_tickets order by id"
    )
    assert [row[0] for row in loaded] == in_window
    assert 0 < len(in_window) < TICKETS
    assert printed["cursors"] == {}
    # With no cursor stored, the next incremental run starts at start_date: all of history.
    sandbox.reset_stats()
    outcome(run_plain_dlt(tmp_path, env, run="incremental"))
    assert compare(warehouse(tmp_path), sandbox, "tickets", "support_tickets") == CLEAN
    assert sandbox.stats()["records_served"]["tickets"] == TICKETS + pages_for(TICKETS) - 1


def test_plain_dlt_reads_settings_and_secrets_from_the_dlt_folder(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / ".dlt").mkdir(parents=True)
    (project / ".dlt" / "config.toml").write_text(
        f'[sources.support_desk]\nbase_url = "{sandbox.url}"\nstart_date = 2024-01-01\n'
        "page_size = 50\n"
    )
    (project / ".dlt" / "secrets.toml").write_text(
        f'[sources.support_desk]\nclient_id = "{CLIENT_ID}"\nclient_secret = "{CLIENT_SECRET}"\n'
    )

    outcome(run_plain_dlt(tmp_path, cwd=project))

    assert compare(warehouse(tmp_path), sandbox, "tickets", "support_tickets") == CLEAN
    assert compare(warehouse(tmp_path), sandbox, "comments", "ticket_comments") == CLEAN
    # page_size from config.toml reached the requests: 50 records a page.
    assert sandbox.stats()["requests"]["GET /v1/tickets"] == {"200": pages_for(TICKETS, 50)}


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ((), ("base_url", "client_id", "client_secret")),
        (("base_url", "client_id"), ("client_secret",)),
    ],
    ids=["nothing-set", "secret-missing"],
)
def test_missing_credentials_fail_naming_each_key_before_any_request(
    sandbox: SandboxServer, tmp_path: Path, given: tuple[str, ...], missing: tuple[str, ...]
) -> None:
    env = {
        name: value
        for name, value in source_env(sandbox).items()
        if name.removeprefix("SOURCES__SUPPORT_DESK__").lower() in given
    }

    result = run_plain_dlt(tmp_path, env)

    assert result.returncode != 0
    assert f"Missing {len(missing)} field(s) in configuration" in result.stderr
    assert f"({', '.join(missing)} missing)" in result.stderr
    for key in missing:
        assert f"SOURCES__SUPPORT_DESK__{key.upper()}" in result.stderr
    assert "[sources.support_desk] in .dlt/secrets.toml" in result.stderr
    assert sandbox.stats()["requests"] == {}
    assert sandbox.stats()["token_grants"] == 0


def tables_of(settings: Settings) -> dict[str, Any]:
    """Each table's columns with their types, and its rows without dlt's load ids."""
    tables = {}
    for table in ("support_tickets", "ticket_comments"):
        columns = warehouse_rows(
            settings,
            "select column_name, data_type from information_schema.columns where "
            f"table_schema = 'support' and table_name = '{table}' order by ordinal_position",
        )
        # `_dlt_load_id` and `_dlt_id` differ between any two loads; that they exist is
        # in `columns`.
        data = [name for name, _ in columns if name not in ("_dlt_load_id", "_dlt_id")]
        rows = warehouse_rows(
            settings, f"select {', '.join(data)} from support.{table} order by id"
        )
        tables[table] = {"columns": columns, "rows": rows}
    return tables


def test_plain_dlt_and_the_dagster_assets_load_the_same_tables(
    api_env: SandboxServer, settings: Settings, tmp_path: Path
) -> None:
    outcome(run_plain_dlt(tmp_path, source_env(api_env)))

    assert materialize(settings).success

    plain, dagster = tables_of(warehouse(tmp_path)), tables_of(settings)
    assert len(plain["support_tickets"]["rows"]) == TICKETS
    assert len(plain["ticket_comments"]["rows"]) == COMMENTS
    assert plain == dagster


def readme_section() -> str:
    """The README's "Use the source without Dagster", up to the next section."""
    readme = (ROOT / "README.md").read_text()
    return readme.split("## Use the source without Dagster\n", 1)[1].split("\n## ", 1)[0]


def fenced(text: str, language: str) -> str:
    """The first code block of `language` in `text`."""
    match = re.search(rf"```{language}\n(.*?)```", text, re.DOTALL)
    assert match, f"no {language} block"
    return match[1]


def test_readme_example_loads_both_tables_with_its_secrets_toml(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    section = readme_section()
    values = {"base_url": sandbox.url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    secrets = re.sub(
        r'^(\w+) = ".*"$',
        lambda m: f'{m[1]} = "{values[m[1]]}"',
        fenced(section, "toml"),
        flags=re.M,
    )
    project = tmp_path / "project"
    (project / ".dlt").mkdir(parents=True)
    (project / ".dlt" / "secrets.toml").write_text(secrets)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home")}
    env |= {"DLT_DATA_DIR": str(tmp_path / "dlt_home"), "RUNTIME__DLTHUB_TELEMETRY": "false"}

    result = subprocess.run(
        [sys.executable, "-c", NO_DAGSTER + fenced(section, "python")],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr[-4000:]
    assert "is LOADED and contains no failed jobs" in result.stdout
    loaded = Settings(duckdb_path=str(project / "support_desk.duckdb"))
    assert compare(loaded, sandbox, "tickets", "support_tickets") == CLEAN
    assert compare(loaded, sandbox, "comments", "ticket_comments") == CLEAN


def test_every_key_of_the_source_is_in_the_readme_table() -> None:
    keys = SupportDeskConfiguration.get_resolvable_fields()
    table = readme_section()

    assert len(keys) == 12
    assert sorted(key for key in keys if f"`{key}`" not in table) == []


def test_variables_named_like_the_python_only_arguments_are_not_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # dlt looks a source's keys up under the bare name last: `SEED` or `WINDOW` set for
    # anything else must not reach the arguments only the Dagster assets pass.
    for name in ("SEED", "WINDOW", "CONNECTION"):
        monkeypatch.setenv(name, "7")

    source = support_source()

    assert list(source.resources) == ["support_tickets", "ticket_comments"]


def test_names_only_source_looks_nothing_up_where_support_source_would_refuse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Credentials in the environment for some other use of the source, with a URL no load
    # may send them to: building the source to name the assets must not care.
    monkeypatch.setenv("SOURCES__SUPPORT_DESK__BASE_URL", "http://desk.example.com")
    monkeypatch.setenv("SOURCES__SUPPORT_DESK__CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SOURCES__SUPPORT_DESK__CLIENT_SECRET", CLIENT_SECRET)

    source = support_source_names_only()

    assert list(source.resources) == ["support_tickets", "ticket_comments"]
    with pytest.raises(ValueError, match="uses http:// off loopback"):
        support_source()
    # The same tables and hints as the source the code location builds today.
    for name in ("SOURCES__SUPPORT_DESK__BASE_URL", "SOURCES__SUPPORT_DESK__CLIENT_ID"):
        monkeypatch.delenv(name)
    built = support_source()
    assert {r.name: r.compute_table_schema() for r in source.resources.values()} == {
        r.name: r.compute_table_schema() for r in built.resources.values()
    }
