"""Customer data: excluded fields never loaded, hashed ones keyed-hashed, before any write.

Canary values are served by the sandbox inside real records (a comment's body, a ticket's
description, requester id and e-mail); after a load with the Arrow pages and with the row
path, each is looked for in every file the run leaves (the DuckDB file, dlt's kept run
folder with its extracted packages and trace, Dagster's instance), every stored Dagster
event, the logs at DEBUG and the process output. A control load without the settings finds
them, so the scan is one that can fail.
"""

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from support_assets.pipeline import support_pipeline
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings, SettingsError
from support_assets.source.privacy import keyed_hash, parse_rules
from support_assets_tests.helpers import materialize, warehouse_rows
from support_assets_tests.test_secrets import events_containing, files_containing

SALT = "salt-canary-4b1d9e0c7a3f"
BODY = "pii-canary-body-8c2f61"
DESCRIPTION = "pii-canary-description-03e9a7"
EMAIL = "jane.canary.5d7e@example.com"
REQUESTER = 987654321987
TICKET, COMMENTS = 5, (1, 2, 3)
NEEDLES = [BODY, DESCRIPTION, EMAIL, str(REQUESTER)]


def serve_canaries(sandbox: SandboxServer) -> None:
    sandbox.set_hostile(
        *(
            {"resource": "comments", "record": c, "patch": {"body": f"{BODY} #{c}"}}
            for c in COMMENTS
        ),
        {
            "resource": "tickets",
            "record": TICKET,
            "patch": {
                "description": DESCRIPTION,
                "requester_id": REQUESTER,
                "requester_email": EMAIL,
            },
        },
    )


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    (tmp_path / "dagster_home").mkdir()
    with dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "dagster_home")) as local:
        yield local


@pytest.fixture
def private(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SUPPORT_HASH_SALT", SALT)
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "DEBUG")
    return dataclasses.replace(
        settings,
        keep_run_files=True,
        # Plain names apply to both tables; `tickets.` / `comments.` to one.
        exclude_columns=parse_rules(["body", "description"]),
        hash_columns=parse_rules(
            ["tickets.requester_id", "tickets.requester_email", "comments.author_id"]
        ),
        hash_salt=True,
    )


def leaks(
    root: Path,
    instance: dg.DagsterInstance,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    needles: list[str],
) -> list[str]:
    output = capfd.readouterr()
    logged = caplog.text + output.out + output.err
    return (
        files_containing(root, [n.encode() for n in needles])
        + events_containing(instance, needles)
        + [f"log: {n}" for n in needles if n in logged]
    )


@pytest.mark.parametrize("arrow", [True, False], ids=["arrow-pages", "row-path"])
def test_excluded_and_hashed_customer_data_is_in_no_file_log_event_or_table(
    api_env: SandboxServer,
    private: Settings,
    tmp_path: Path,
    instance: dg.DagsterInstance,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    arrow: bool,
) -> None:
    caplog.set_level(logging.DEBUG)
    private = dataclasses.replace(private, arrow_pages=arrow)
    serve_canaries(api_env)

    assert materialize(private, instance=instance).success

    assert leaks(tmp_path, instance, caplog, capfd, [*NEEDLES, SALT]) == []
    assert list(Path(private.dlt_dir).rglob("*.parquet")), "the loaded files were kept and scanned"
    columns = {
        (table, column): kind
        for table, column, kind in warehouse_rows(
            private,
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'support'",
        )
    }
    assert ("ticket_comments", "body") not in columns
    assert ("support_tickets", "description") not in columns
    assert columns[("support_tickets", "requester_id")] == "VARCHAR"
    # Stable keyed hashes: the same value hashes alike in every run and both tables.
    [(requester, email)] = warehouse_rows(
        private,
        f"select requester_id, requester_email from support.support_tickets where id = {TICKET}",
    )
    assert (requester, email) == (keyed_hash(SALT, REQUESTER), keyed_hash(SALT, EMAIL))
    truth = {r["id"]: r["requester_id"] for r in api_env.truth("tickets") if r["id"] != TICKET}
    loaded = dict(warehouse_rows(private, "select id, requester_id from support.support_tickets"))
    assert {i: loaded[i] for i in truth} == {i: keyed_hash(SALT, r) for i, r in truth.items()}
    authors = {r["author_id"] for r in api_env.truth("comments")}
    joined = warehouse_rows(
        private,
        "select count(distinct c.author_id) from support.ticket_comments c "
        "join support.support_tickets t on t.requester_id = c.author_id",
    )[0][0]
    assert joined == len({keyed_hash(SALT, a) for a in authors} & set(loaded.values())) > 0
    # dlt's schema, as the destination keeps it, describes the hash, not the raw value.
    reader = support_pipeline(private, tmp_path / "reader")
    reader.sync_destination()
    stored = reader.default_schema.get_table_columns("support_tickets")
    assert stored["requester_id"]["description"].startswith("Keyed hash (HMAC-SHA256, hex) of:")


def test_the_scan_finds_the_canaries_when_nothing_is_excluded(
    api_env: SandboxServer,
    settings: Settings,
    tmp_path: Path,
    instance: dg.DagsterInstance,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    serve_canaries(api_env)

    assert materialize(dataclasses.replace(settings, keep_run_files=True), instance=instance)

    text = [BODY, DESCRIPTION, EMAIL]  # the requester id is stored as a number, not text
    found = leaks(tmp_path, instance, caplog, capfd, text)
    in_warehouse = {n for n in text if f"warehouse.duckdb: {n.encode()!r}" in found}
    assert in_warehouse == set(text), found
    assert warehouse_rows(
        settings, f"select requester_id from support.support_tickets where id = {TICKET}"
    ) == [(REQUESTER,)]


BASE = {"SUPPORT_API_BASE_URL": "http://127.0.0.1:1"}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SUPPORT_HASH_COLUMNS": "tickets.id"}, "primary key (SUPPORT_PRIMARY_KEY)"),
        ({"SUPPORT_EXCLUDE_COLUMNS": "updated_at"}, "cursor field (SUPPORT_CURSOR_FIELD)"),
        ({"SUPPORT_HASH_COLUMNS": "comments.ticket_id"}, "SUPPORT_TICKET_KEY"),
        ({"SUPPORT_EXCLUDE_COLUMNS": "tickets.requester_id"}, "SUPPORT_HASH_COLUMNS instead"),
        ({"SUPPORT_HASH_COLUMNS": "author_id"}, "SUPPORT_HASH_SALT is not"),
        (
            {"SUPPORT_HASH_COLUMNS": "author_id", "SUPPORT_HASH_SALT": "short"},
            "shorter than 16",
        ),
        (
            {"SUPPORT_EXCLUDE_COLUMNS": "body", "SUPPORT_HASH_COLUMNS": "body"},
            "in both SUPPORT_EXCLUDE_COLUMNS and SUPPORT_HASH_COLUMNS",
        ),
        (
            {"SUPPORT_VENDOR": "helpscout", "SUPPORT_HASH_COLUMNS": "primaryCustomer"},
            "Hash primaryCustomer.id itself",
        ),
        ({"SUPPORT_HISTORY": "all"}, "SUPPORT_HISTORY='all': use one of latest, scd2"),
    ],
    ids=[
        "hash-primary-key",
        "exclude-cursor",
        "hash-ticket-key",
        "exclude-requester",
        "no-salt",
        "short-salt",
        "both-lists",
        "hash-requester-object",
        "unknown-history",
    ],
)
def test_customer_data_settings_refuse_what_would_break_the_load(
    env: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError, match=None) as raised:
        Settings.from_env({**BASE, **env})
    assert named in str(raised.value)
    assert "short" not in str(raised.value) or "SUPPORT_HASH_SALT" in str(raised.value)


def test_customer_data_settings_are_read_per_table_and_plainly() -> None:
    settings = Settings.from_env(
        {
            **BASE,
            "SUPPORT_EXCLUDE_COLUMNS": "comments.body, description",
            "SUPPORT_HASH_COLUMNS": "tickets.requester_id",
            "SUPPORT_HASH_SALT": SALT,
            "SUPPORT_HISTORY": "scd2",
        }
    )
    assert [str(r) for r in settings.exclude_columns] == ["comments.body", "description"]
    assert [str(r) for r in settings.hash_columns] == ["tickets.requester_id"]
    assert settings.hash_salt is True and settings.history == "scd2"
    assert SALT not in repr(settings)
