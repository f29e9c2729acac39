"""No secret and no issued token lands anywhere a run leaves behind, whatever the auth kind.

Each case runs good and failing loads (retries, token renewals, a dead API, a refused
credential) into a Dagster instance and a dlt folder of its own, then scans every file
(Dagster's event log and compute logs, dlt's trace, state and packages, the warehouse),
every event Dagster stored (metadata included), the log records and the process output
for the configured secrets, the access tokens the desk issued, and the encodings a leaked
`Authorization` header would carry.
"""

import base64
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest
import requests

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets.source.auth import SupportOAuth2
from support_assets_tests.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    COMMENTS,
    SEED,
    TICKETS,
    desk_emulator,
    failure_message,
    materialize,
)

WRONG = CLIENT_SECRET + "-wrong"  # holds the canary: a leak of the wrong value is found too


def files_containing(root: Path, needles: list[bytes]) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += [f"{path.relative_to(root)}: {n!r}" for n in needles if n in data]
    return hits


def events_containing(instance: dg.DagsterInstance, needles: list[str]) -> list[str]:
    """Every stored event of every run, metadata included, as Dagster serializes it."""
    hits = []
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id):
            text = dg.serialize_value(entry)
            hits += [
                f"{run.run_id} {entry.dagster_event_type}: {n!r}" for n in needles if n in text
            ]
    return hits


@pytest.fixture
def issued_tokens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The access tokens the desk hands out to this test's runs, as the token responses say."""
    issued: list[str] = []
    obtain = SupportOAuth2.obtain_token

    def recording(self: SupportOAuth2) -> None:
        obtain(self)
        issued.append(str(self.access_token))

    monkeypatch.setattr(SupportOAuth2, "obtain_token", recording)
    return issued


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance on disk, in the test's folder, so its files are scanned too."""
    (tmp_path / "dagster_home").mkdir()
    with dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "dagster_home")) as local:
        yield local


@pytest.fixture
def debug_logs(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Everything logged, at the most talkative level dlt and Python have."""
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)


def assert_left_nowhere(
    needles: list[str],
    root: Path,
    instance: dg.DagsterInstance,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    assert files_containing(root, [n.encode() for n in needles]) == []
    assert events_containing(instance, needles) == []
    output = capfd.readouterr()
    logged = caplog.text + output.out + output.err
    assert [n for n in needles if n in logged] == []
    assert list(Path(settings.dlt_dir).rglob("trace*")), "the dlt trace was kept and scanned"


@pytest.mark.usefixtures("debug_logs")
def test_secret_canary_and_tokens_appear_nowhere_a_run_leaves_behind(
    api_env: SandboxServer,
    settings: Settings,
    tmp_path: Path,
    instance: dg.DagsterInstance,
    issued_tokens: list[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    settings = dataclasses.replace(settings, keep_run_files=True)
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
    monkeypatch.setenv("SUPPORT_API_CLIENT_SECRET", WRONG)
    assert not materialize(settings, instance=instance).success

    # Every token the sandbox granted was captured, renewals after revocations included.
    assert len(issued_tokens) == api_env.stats()["token_grants"] > 1
    needles = [CLIENT_SECRET, "Bearer ", *issued_tokens]
    assert_left_nowhere(needles, tmp_path, instance, settings, caplog, capfd)


@pytest.fixture(scope="module")
def desk_servers() -> Iterator[Callable[[str], SandboxServer]]:
    """Each desk's emulator, started when a test first asks for it, once per module."""
    with contextlib.ExitStack() as stack:
        servers: dict[str, SandboxServer] = {}

        def server(vendor: str) -> SandboxServer:
            if vendor not in servers:
                servers[vendor] = stack.enter_context(
                    desk_emulator(vendor, TICKETS, COMMENTS, SEED)
                )
            servers[vendor].reset()
            return servers[vendor]

        yield server


def zendesk_access_token(server: SandboxServer) -> str:
    """An OAuth access token from Zendesk's `POST /oauth/tokens`, as an admin would get one."""
    with requests.Session() as session:
        session.trust_env = False  # loopback: no proxy
        response = session.post(
            f"{server.url}/oauth/tokens",
            json={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
            timeout=30,
        )
    response.raise_for_status()
    return response.json()["access_token"]


def basic(username: str, password: str) -> str:
    """What a leaked `Authorization: Basic ...` header would show."""
    return base64.b64encode(f"{username}:{password}".encode()).decode()


@dataclasses.dataclass(frozen=True)
class AuthCase:
    """One auth kind against one desk: the settings it sets, and which one is refused."""

    vendor: str
    auth: str
    # The wrong value of this setting makes the refused run.
    secret_setting: str
    # A 429 on a few requests: desks read per ticket make hundreds, Zendesk a dozen.
    rate_limited: float = 0.05
    token_revoke: bool = False


CASES = [
    pytest.param(
        AuthCase("helpscout", "oauth2", "SUPPORT_API_CLIENT_SECRET", token_revoke=True),
        id="oauth2-helpscout-body-client-auth",
    ),
    pytest.param(
        AuthCase("freshdesk", "basic", "SUPPORT_API_USERNAME"), id="basic-freshdesk-api-key"
    ),
    pytest.param(
        AuthCase("zendesk", "basic", "SUPPORT_API_PASSWORD", rate_limited=0.3),
        id="basic-zendesk-api-token",
    ),
    pytest.param(
        AuthCase("zendesk", "bearer", "SUPPORT_API_TOKEN", rate_limited=0.3),
        id="bearer-zendesk-oauth-token",
    ),
    pytest.param(
        AuthCase("zendesk", "api_key", "SUPPORT_API_KEY", rate_limited=0.3),
        id="api_key-zendesk-authorization-header",
    ),
]


def credentials(case: AuthCase, server: SandboxServer) -> tuple[dict[str, str], list[str]]:
    """The settings of this auth kind for the desk, and every value that must not leak."""
    if case.auth == "oauth2":
        return {
            "SUPPORT_API_CLIENT_ID": CLIENT_ID,
            "SUPPORT_API_CLIENT_SECRET": CLIENT_SECRET,
        }, [CLIENT_SECRET]
    if case.vendor == "freshdesk":  # the API key is the username, any password
        env = {"SUPPORT_API_USERNAME": CLIENT_SECRET, "SUPPORT_API_PASSWORD": "X"}
        return env, [CLIENT_SECRET, basic(CLIENT_SECRET, "X"), basic(WRONG, "X")]
    if case.auth == "basic":  # Zendesk: `{email}/token` and the API token
        user = f"{CLIENT_ID}/token"
        env = {"SUPPORT_API_USERNAME": user, "SUPPORT_API_PASSWORD": CLIENT_SECRET}
        return env, [CLIENT_SECRET, basic(user, CLIENT_SECRET), basic(user, WRONG)]
    token = zendesk_access_token(server)
    if case.auth == "bearer":
        return {"SUPPORT_API_TOKEN": token}, [CLIENT_SECRET, token]
    # No emulator takes a key header of its own: Zendesk's Authorization header carries
    # its OAuth token as a key, which is what a desk with `Authorization: <key>` sees.
    return {
        "SUPPORT_API_KEY_HEADER": "Authorization",
        "SUPPORT_API_KEY": f"Bearer {token}",
    }, [CLIENT_SECRET, token]


@pytest.mark.usefixtures("debug_logs")
@pytest.mark.parametrize("case", CASES)
def test_no_credential_or_token_of_any_auth_kind_appears_where_a_run_leaves_traces(
    case: AuthCase,
    desk_servers: Callable[[str], SandboxServer],
    settings: Settings,
    tmp_path: Path,
    instance: dg.DagsterInstance,
    issued_tokens: list[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    server = desk_servers(case.vendor)
    env, secrets = credentials(case, server)
    monkeypatch.setenv("SUPPORT_API_BASE_URL", server.url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # The preset with this auth kind: only its credentials are the resource's `EnvVar`s.
    overrides = {name: value for name, value in env.items() if name == "SUPPORT_API_KEY_HEADER"}
    api = Settings.from_env({"SUPPORT_VENDOR": case.vendor, "SUPPORT_AUTH": case.auth, **overrides})
    settings = dataclasses.replace(settings, vendor=case.vendor, api=api.api, keep_run_files=True)
    assert settings.api.auth == case.auth
    no_retries = dataclasses.replace(
        settings, retry=dataclasses.replace(settings.retry, max_retries=0)
    )

    # A good run with 429s (and token renewals where tokens are issued), then a dead API
    # and a refused credential.
    faults: list[dict[str, object]] = [
        {"name": "rate_limit", "ratio": case.rate_limited, "retry_after": 0}
    ]
    if case.token_revoke:
        faults.append({"name": "token_revoke", "every": 3})
    server.set_faults(*faults)
    good = materialize(settings, instance=instance)
    assert good.success, failure_message(good)
    server.update("tickets", 20)
    server.set_faults({"name": "server_errors", "ratio": 1.0})
    assert not materialize(no_retries, instance=instance).success
    server.clear_faults()
    wrong = WRONG if case.auth in ("oauth2", "basic") else env[case.secret_setting] + "-wrong"
    monkeypatch.setenv(case.secret_setting, wrong)
    refused = materialize(settings, instance=instance)
    assert not refused.success
    assert "credentials rejected" in failure_message(refused)

    if case.auth == "oauth2":
        assert len(issued_tokens) == server.stats()["token_grants"] > 1
    else:
        assert issued_tokens == []  # no token request: the credential is sent as it is
    needles = [*secrets, "Bearer ", *issued_tokens]
    assert_left_nowhere(needles, tmp_path, instance, settings, caplog, capfd)
