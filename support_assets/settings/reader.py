"""Typed reads of `SUPPORT_*` variables: each error names the variable and what it takes."""

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any


class SettingsError(ValueError):
    """A setting has a value the project cannot use; the message names the variable."""


_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4}
_UNITS |= {"kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def memory_bytes(size: str) -> int:
    """`64MB` or `2GiB` (SUPPORT_DUCKDB_MEMORY_LIMIT's form, as DuckDB reads it) in bytes."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)", size.strip(), re.IGNORECASE)
    if match is None:
        raise ValueError(f"{size!r} is not a memory size such as 128MB or 2GB")
    return int(float(match[1]) * _UNITS[match[2].lower()])


class Reader:
    """Typed reads of environment variables whose errors name the variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def _raw(self, name: str) -> str | None:
        value = self.env.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    def text(self, name: str, default: str) -> str:
        """The value as given, trimmed; unset or blank keeps the default."""
        raw = self._raw(name)
        return default if raw is None else raw

    def is_set(self, name: str) -> bool:
        """Whether a variable has a value, without reading the value (for secrets)."""
        return self._raw(name) is not None

    def optional(self, name: str, default: str | None) -> str | None:
        """Unset keeps the default; set to an empty value means "the vendor has none"."""
        if name not in self.env:
            return default
        return self._raw(name)

    def _parse(self, name: str, default: Any, parse: Any, what: str) -> Any:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            return parse(raw)
        except ValueError:
            raise SettingsError(f"{name}={raw!r} is not {what}") from None

    def integer(self, name: str, default: int, minimum: int | None = None) -> int:
        """A whole number, at least `minimum`."""
        value = self._parse(name, default, int, "a whole number")
        if minimum is not None and value < minimum:
            raise SettingsError(f"{name}={value} must be at least {minimum}")
        return value

    def memory(self, name: str, default: str) -> str:
        """A DuckDB memory size such as `128MB` or `2GiB`, checked before DuckDB sees it."""
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            memory_bytes(raw)
        except ValueError:
            raise SettingsError(
                f"{name}={raw!r} is not a memory size such as 128MB or 2GB"
            ) from None
        return raw.strip()

    def seconds(self, name: str, default: float) -> float:
        """A non-negative number of seconds."""
        value = self._parse(name, default, float, "a number of seconds")
        if value < 0:
            raise SettingsError(f"{name}={value} must not be negative")
        return value

    def hours(self, name: str, default: float) -> float:
        """A non-negative number of hours."""
        value = self._parse(name, default, float, "a number of hours")
        if value < 0:
            raise SettingsError(f"{name}={value} must not be negative")
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        """One of `choices`; anything else is refused with the list."""
        value = self.text(name, default)
        if value not in choices:
            raise SettingsError(f"{name}={value!r}: use one of {', '.join(choices)}")
        return value

    def pair(self, name: str, default: tuple[str, str] | None) -> tuple[str, str] | None:
        """`field=value`; set empty for none."""
        if name not in self.env:
            return default
        raw = self._raw(name)
        if raw is None:
            return None
        field, sep, value = raw.partition("=")
        if not sep or not field.strip():
            raise SettingsError(f"{name}={raw!r} is not field=value")
        return field.strip(), value.strip()

    def names(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        """A comma-separated list of names (header names, ...)."""
        raw = self._raw(name)
        if raw is None:
            return default
        return tuple(part.strip() for part in raw.split(",") if part.strip())

    def params(
        self, name: str, default: tuple[tuple[str, str], ...]
    ) -> tuple[tuple[str, str], ...]:
        """Fixed query parameters as `key=value&key=value`; set empty to send none."""
        if name not in self.env:
            return default
        raw = self._raw(name) or ""
        pairs = []
        for part in raw.split("&"):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                raise SettingsError(f"{name}={raw!r} is not key=value&key=value")
            pairs.append((key.strip(), value.strip()))
        return tuple(pairs)

    def flag(self, name: str, default: bool) -> bool:
        """true/false, yes/no, on/off or 1/0."""
        raw = self._raw(name)
        if raw is None:
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name}={raw!r} is not true or false")

    def statuses(self, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
        """A comma-separated list of HTTP status codes."""
        return self._parse(
            name,
            default,
            lambda raw: tuple(int(part) for part in raw.split(",") if part.strip()),
            "a comma-separated list of HTTP status codes",
        )

    def date(self, name: str, default: dt.date) -> dt.date:
        """An ISO date such as 2024-01-01."""
        return self._parse(name, default, dt.date.fromisoformat, "a date like 2024-01-01")
