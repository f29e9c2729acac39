"""Secrets out of every text people or machines read: HTTP errors, run logs, alerts.

One function for all of them, so an error message, the run log that carries it and the
alert that quotes it hide the same things: secret query and form parameters (`token`,
`api_key`, `access_token`, `client_secret`, `password`, `key`, `signature`, ...), JSON or
`name: value` pairs with such names, `Bearer` and `Basic` credentials, `user:password@` in
URLs, and the configured secrets themselves wherever they appear. Only the secret goes:
the words around it stay, so `HTTPConnectionPool(host='127.0.0.1', port=43269)` after
`/oauth/token:` still says where the connection failed. No dagster import: the dlt side
uses it too.
"""

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
# Settings whose values are secrets; their values are redacted wherever they appear.
# The username too: Freshdesk's API key is sent as the Basic username.
SECRET_SETTINGS = (
    "SUPPORT_API_CLIENT_SECRET",
    "SUPPORT_API_PASSWORD",
    "SUPPORT_API_TOKEN",
    "SUPPORT_API_KEY",
    "SUPPORT_API_USERNAME",
    "SUPPORT_ALERT_WEBHOOK_URL",
    # The key of the customer-data hashes: whoever has it can test guesses against them.
    "SUPPORT_HASH_SALT",
)
# Shorter values would redact ordinary words and numbers.
MIN_SECRET_LENGTH = 6

# A parameter named like a secret: `access_token`, `x-api-key`, `client_secret`, `sig`.
_NAME = (
    r"[a-z0-9_-]*(?:token|secret|password|passwd|api[_-]?key|apikey|signature|credential)s?"
    r"|key|sig|pwd|auth"
)
# Names too common as plain words to redact what follows a bare `name:` in prose.
_PLAIN_WORDS = frozenset({"token", "tokens", "key", "sig", "auth", "signature", "credential"})
# The name starts a word: `/oauth/token` or `refresh.token` is a path, not a parameter.
_START = r"(?<![a-z0-9_./-])"
# A value not redacted yet (a configured secret may have gone first).
_VALUE = r"(?!\[redacted)[^\s&#\"'<>,;)\]}]+"

# Each pattern needs one of these in the text; most texts have none.
_HINTS = (
    "token",
    "secret",
    "passw",
    "key",
    "sig",
    "pwd",
    "auth",
    "credential",
    "bearer",
    "basic",
    "@",
)

_QUERY = re.compile(rf"(?i){_START}({_NAME})(=){_VALUE}")
_QUOTED = re.compile(rf"(?i)([\"'])({_NAME})\1(\s*:\s*)(?:([\"'])(?:(?!\4).)*\4|{_VALUE})")
_COLON = re.compile(rf"(?i){_START}({_NAME})(\s*:[ \t]*){_VALUE}")
_BEARER = re.compile(r"(?i)\bbearer\s+[a-z0-9._~+/=-]+")
_BASIC = re.compile(r"(?i)\b(basic\s+)([a-z0-9+/]{8,}={0,2})(?![a-z0-9+/=])")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@")


def redact(value: Any, secrets: Iterable[str] | None = None) -> Any:
    """Strings with secrets replaced; dicts, lists and tuples redacted throughout.

    `secrets` are literal values to hide; by default the configured secret settings, read
    at call time (a secret changed since the code location loaded is still hidden).
    """
    known = configured_secrets() if secrets is None else _long_enough(secrets)
    return _redact(value, known)


def configured_secrets() -> list[str]:
    """The values of the secret settings in this process's environment, longest first."""
    return _long_enough(os.environ.get(name, "") for name in SECRET_SETTINGS)


def _long_enough(values: Iterable[str]) -> list[str]:
    found = {v.strip() for v in values if len(v.strip()) >= MIN_SECRET_LENGTH}
    return sorted(found, key=len, reverse=True)


def _redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, Mapping):
        return {key: _redact(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(item, secrets) for item in value]
    return value


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """One string with its secrets replaced by `[redacted]`, everything else kept."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    lowered = text.lower()
    if not any(hint in lowered for hint in _HINTS):
        return text  # every page's description passes here: keep it cheap
    text = _USERINFO.sub(rf"\1{REDACTED}@", text)
    text = _BEARER.sub("[redacted token]", text)
    text = _BASIC.sub(_basic, text)
    text = _QUOTED.sub(_quoted, text)
    text = _QUERY.sub(rf"\1\2{REDACTED}", text)
    return _COLON.sub(_colon, text)


def _basic(match: re.Match[str]) -> str:
    # `Basic dXNlcjpwYXNz` is a credential; "basic authentication" is prose.
    credential = match.group(2)
    if credential[1:].islower() and credential.isalpha():
        return match.group(0)
    return f"{match.group(1)}{REDACTED}"


def _quoted(match: re.Match[str]) -> str:
    quote, name, separator, value_quote = match.group(1, 2, 3, 4)
    value_quote = value_quote or ""
    return f"{quote}{name}{quote}{separator}{value_quote}{REDACTED}{value_quote}"


def _colon(match: re.Match[str]) -> str:
    name, separator = match.group(1), match.group(2)
    if name.lower() in _PLAIN_WORDS:
        return match.group(0)
    return f"{name}{separator}{REDACTED}"
