"""Every `SUPPORT_*` setting of the code location: its default and its parser, once.

The desk's names (paths, data selectors, query parameters, the cursor field) and the
source's tuning defaults come from the source's contract module; this module reads their
overrides, so pointing the code location at a real vendor is a matter of environment
variables, not code.

Nothing here reads the environment at import time: `Settings.from_env()` is called when the
code location loads (inside `@dg.definitions`) or by a test with its own mapping.
"""

import dataclasses
import datetime as dt
import os
import re
from collections.abc import Mapping
from typing import Any

from support_assets.source.contract import (
    AUTH_KINDS,
    CURSOR_FORMATS,
    DEFAULT_API,
    DEFAULT_RETRY,
    DEFAULT_START_DATE,
    OAUTH_CLIENT_AUTH,
    PAGINATIONS,
    TOKEN_REFRESH_MARGIN_S,
    ApiNames,
    EndpointNames,
    RetryPolicy,
)
from support_assets.source.vendors import PRESETS, preset

_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4}
_UNITS |= {"kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def memory_bytes(size: str) -> int:
    """`64MB` or `2GiB` (SUPPORT_DUCKDB_MEMORY_LIMIT's form, as DuckDB reads it) in bytes."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)", size.strip(), re.IGNORECASE)
    if match is None:
        raise ValueError(f"{size!r} is not a memory size such as 128MB or 2GB")
    return int(float(match[1]) * _UNITS[match[2].lower()])


class SettingsError(ValueError):
    """A setting has a value the project cannot use; the message names the variable."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the code location reads from `SUPPORT_*` environment variables."""

    # A preset of the desk's mechanisms (source/vendors); each is also a setting of its own.
    vendor: str = "generic"
    api: ApiNames = DEFAULT_API
    retry: RetryPolicy = DEFAULT_RETRY
    token_url: str = ""
    token_refresh_margin: float = TOKEN_REFRESH_MARGIN_S
    # Seconds each run's window ends before the desk's clock: for a desk that stamps records
    # behind its Date header (a database clock behind its web servers', slow commits).
    window_lag: int = 0
    destination: str = "duckdb"
    duckdb_path: str = "data/warehouse.duckdb"
    duckdb_memory_limit: str = "64MB"
    dataset: str = "support"
    dlt_dir: str = "data/dlt"
    # Keep a successful run's dlt working files (trace, extracted packages) for debugging.
    keep_run_files: bool = False
    # A failed, killed or kept run's folder holds extracted customer records: each run
    # deletes the run folders older than this when it starts.
    run_files_max_age_hours: float = 72.0
    # Pages as Arrow tables (fast); off sends every page through dlt's row path.
    arrow_pages: bool = True
    pipeline_name: str = "support_desk"
    schema_contract: str = "evolve"
    start_date: dt.date = DEFAULT_START_DATE
    refresh_cron: str = "*/15 * * * *"
    # Off by default, so a fresh `dagster dev` does not start calling a real API unasked.
    schedule_running: bool = False
    run_max_retries: int = 1
    # A failed load is retried within its run this often, the n-th retry after n times this
    # many seconds, so a vendor outage has time to end.
    load_retries: int = 2
    load_retry_delay: float = 60.0
    # Longest a `support_refresh_job` run may take before run monitoring fails it: what
    # frees the pool when a run's worker and code server both died (the default launcher
    # cannot check a worker's health).
    refresh_max_runtime: float = 1800.0
    # Alert "Support API degraded" when a run needed more retries, or waited longer on
    # Retry-After, than this.
    alert_retry_threshold: int = 10
    alert_rate_limit_wait_threshold: float = 60.0
    # Whether SUPPORT_ALERT_WEBHOOK_URL is set. Only its presence is read here: the URL is a
    # secret and reaches the alert resource through `dg.EnvVar`, resolved at each tick.
    alert_webhook: bool = False
    # Where the Dagster UI is, for the run links in alerts.
    ui_base_url: str = "http://127.0.0.1:3000"
    # When another process holds the DuckDB file: wait this long, this often, then fail.
    lock_retry_wait: float = 30.0
    lock_retries: int = 3
    # The freshness check: the last successful load, and the newest updated_at loaded.
    max_load_age_hours: float = 2.0
    max_data_age_hours: float = 24.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read every `SUPPORT_*` setting; unset ones keep the contract's defaults."""
        env = os.environ if environ is None else environ
        base = cls()
        get = _Reader(env)
        vendor = get.choice("SUPPORT_VENDOR", base.vendor, tuple(PRESETS))
        api = read_api(get, preset(vendor))
        check_mechanisms(api, vendor)
        retry = RetryPolicy(
            statuses=get.statuses("SUPPORT_RETRY_STATUSES", base.retry.statuses),
            max_retries=get.integer("SUPPORT_MAX_RETRIES", base.retry.max_retries, minimum=0),
            backoff_factor=get.seconds("SUPPORT_BACKOFF_FACTOR", base.retry.backoff_factor),
            max_wait=get.seconds("SUPPORT_MAX_RETRY_WAIT", base.retry.max_wait),
            request_timeout=get.seconds("SUPPORT_REQUEST_TIMEOUT", base.retry.request_timeout),
        )
        contract = get.text("SUPPORT_SCHEMA_CONTRACT", base.schema_contract)
        if contract not in ("evolve", "freeze"):
            raise SettingsError(
                f"SUPPORT_SCHEMA_CONTRACT={contract!r}: use 'evolve' (new fields become "
                "columns) or 'freeze' (a schema change fails the load)"
            )
        start_date = get.date("SUPPORT_START_DATE", base.start_date)
        today = dt.datetime.now(dt.UTC).date()
        if start_date > today:
            # The daily partitions would start after today: no partition to run, and
            # Dagster's own error would not say which setting made it so.
            raise SettingsError(
                f"SUPPORT_START_DATE={start_date.isoformat()} is in the future (today is "
                f"{today.isoformat()} UTC): set it to the first day whose tickets to load."
            )
        return cls(
            vendor=vendor,
            api=api,
            retry=retry,
            token_url=get.text("SUPPORT_API_TOKEN_URL", base.token_url),
            token_refresh_margin=get.seconds(
                "SUPPORT_TOKEN_REFRESH_MARGIN", base.token_refresh_margin
            ),
            window_lag=get.integer("SUPPORT_WINDOW_LAG", base.window_lag, minimum=0),
            destination=get.text("SUPPORT_DESTINATION", base.destination),
            duckdb_path=get.text("SUPPORT_DUCKDB_PATH", base.duckdb_path),
            duckdb_memory_limit=get.memory("SUPPORT_DUCKDB_MEMORY_LIMIT", base.duckdb_memory_limit),
            dataset=get.text("SUPPORT_DATASET", base.dataset),
            dlt_dir=get.text("SUPPORT_DLT_DIR", base.dlt_dir),
            keep_run_files=get.flag("SUPPORT_KEEP_RUN_FILES", base.keep_run_files),
            run_files_max_age_hours=get.hours(
                "SUPPORT_RUN_FILES_MAX_AGE_HOURS", base.run_files_max_age_hours
            ),
            arrow_pages=get.flag("SUPPORT_ARROW_PAGES", base.arrow_pages),
            pipeline_name=get.text("SUPPORT_PIPELINE_NAME", base.pipeline_name),
            schema_contract=contract,
            start_date=start_date,
            refresh_cron=get.text("SUPPORT_REFRESH_CRON", base.refresh_cron),
            schedule_running=get.flag("SUPPORT_SCHEDULE_RUNNING", base.schedule_running),
            run_max_retries=get.integer("SUPPORT_RUN_MAX_RETRIES", base.run_max_retries, minimum=0),
            load_retries=get.integer("SUPPORT_LOAD_RETRIES", base.load_retries, minimum=0),
            load_retry_delay=get.seconds("SUPPORT_LOAD_RETRY_DELAY", base.load_retry_delay),
            refresh_max_runtime=get.seconds(
                "SUPPORT_REFRESH_MAX_RUNTIME", base.refresh_max_runtime
            ),
            alert_retry_threshold=get.integer(
                "SUPPORT_ALERT_RETRY_THRESHOLD", base.alert_retry_threshold, minimum=0
            ),
            alert_rate_limit_wait_threshold=get.seconds(
                "SUPPORT_ALERT_RATE_LIMIT_WAIT_THRESHOLD", base.alert_rate_limit_wait_threshold
            ),
            alert_webhook=get.is_set("SUPPORT_ALERT_WEBHOOK_URL"),
            ui_base_url=get.text("SUPPORT_UI_BASE_URL", base.ui_base_url).rstrip("/"),
            lock_retry_wait=get.seconds("SUPPORT_LOCK_RETRY_WAIT", base.lock_retry_wait),
            lock_retries=get.integer("SUPPORT_LOCK_RETRIES", base.lock_retries, minimum=0),
            max_load_age_hours=get.hours("SUPPORT_MAX_LOAD_AGE_HOURS", base.max_load_age_hours),
            max_data_age_hours=get.hours("SUPPORT_MAX_DATA_AGE_HOURS", base.max_data_age_hours),
        )


def read_api(get: "_Reader", base: ApiNames) -> ApiNames:
    """The desk's names and mechanisms: the preset's, each overridden by its own setting."""
    tickets, comments = base.tickets, base.comments
    return ApiNames(
        tickets=EndpointNames(
            get.text("SUPPORT_TICKETS_PATH", tickets.path),
            get.text("SUPPORT_TICKETS_SELECTOR", tickets.data_selector),
            cursor_field=get.optional("SUPPORT_TICKETS_CURSOR_FIELD", tickets.cursor_field),
            params=get.params("SUPPORT_TICKETS_PARAMS", tickets.params),
        ),
        comments=EndpointNames(
            get.text("SUPPORT_COMMENTS_PATH", comments.path),
            get.text("SUPPORT_COMMENTS_SELECTOR", comments.data_selector),
            cursor_field=get.optional("SUPPORT_COMMENTS_CURSOR_FIELD", comments.cursor_field),
            params=get.params("SUPPORT_COMMENTS_PARAMS", comments.params),
            nested=get.optional("SUPPORT_COMMENTS_NESTED", comments.nested),
            nested_filter=get.pair("SUPPORT_COMMENTS_NESTED_FILTER", comments.nested_filter),
            nested_ticket_field=get.text(
                "SUPPORT_COMMENTS_NESTED_TICKET_FIELD", comments.nested_ticket_field
            ),
        ),
        pagination=get.choice("SUPPORT_PAGINATION", base.pagination, PAGINATIONS),
        offset_param=get.text("SUPPORT_OFFSET_PARAM", base.offset_param),
        limit_param=get.optional("SUPPORT_LIMIT_PARAM", base.limit_param),
        page_size=get.integer("SUPPORT_PAGE_SIZE", base.page_size, minimum=1),
        page_param=get.text("SUPPORT_PAGE_PARAM", base.page_param),
        first_page=get.integer("SUPPORT_FIRST_PAGE", base.first_page, minimum=0),
        next_link=get.optional("SUPPORT_NEXT_LINK", base.next_link),
        next_cursor_path=get.optional("SUPPORT_NEXT_CURSOR_PATH", base.next_cursor_path),
        cursor_param=get.optional("SUPPORT_CURSOR_PARAM", base.cursor_param),
        next_url_path=get.optional("SUPPORT_NEXT_URL_PATH", base.next_url_path),
        end_path=get.optional("SUPPORT_END_PATH", base.end_path),
        total_path=get.optional("SUPPORT_TOTAL_PATH", base.total_path),
        primary_key=get.text("SUPPORT_PRIMARY_KEY", base.primary_key),
        cursor_field=get.text("SUPPORT_CURSOR_FIELD", base.cursor_field),
        cursor_format=get.choice("SUPPORT_CURSOR_FORMAT", base.cursor_format, CURSOR_FORMATS),
        since_param=get.text("SUPPORT_SINCE_PARAM", base.since_param),
        since_format=get.choice("SUPPORT_SINCE_FORMAT", base.since_format, CURSOR_FORMATS),
        before_param=get.optional("SUPPORT_BEFORE_PARAM", base.before_param),
        min_since_age=get.integer("SUPPORT_MIN_SINCE_AGE", base.min_since_age, minimum=0),
        ticket_key=get.text("SUPPORT_TICKET_KEY", base.ticket_key),
        child_next_link=get.optional("SUPPORT_COMMENTS_NEXT_LINK", base.child_next_link),
        auth=get.choice("SUPPORT_AUTH", base.auth, AUTH_KINDS),
        oauth_client_auth=get.choice(
            "SUPPORT_OAUTH_CLIENT_AUTH", base.oauth_client_auth, OAUTH_CLIENT_AUTH
        ),
        token_path=get.text("SUPPORT_TOKEN_PATH", base.token_path),
        api_key_header=get.text("SUPPORT_API_KEY_HEADER", base.api_key_header),
        retry_after_headers=get.names("SUPPORT_RETRY_AFTER_HEADERS", base.retry_after_headers),
    )


def check_mechanisms(api: ApiNames, vendor: str) -> None:
    """Refuse combinations that cannot be read without loss, naming the settings."""
    if api.pagination == "offset" and api.before_param is None:
        raise SettingsError(
            f"SUPPORT_PAGINATION=offset (SUPPORT_VENDOR={vendor}) needs an upper-bound "
            "parameter (SUPPORT_BEFORE_PARAM): offset pages over live data skip records "
            "without one. A desk that numbers pages or links them is read with "
            "SUPPORT_PAGINATION=page_number, a change stream with stream."
        )
    if api.pagination == "stream" and not (
        (api.next_cursor_path and api.cursor_param) or api.next_url_path
    ):
        raise SettingsError(
            "SUPPORT_PAGINATION=stream needs where the next position is: "
            "SUPPORT_NEXT_CURSOR_PATH with SUPPORT_CURSOR_PARAM, or SUPPORT_NEXT_URL_PATH."
        )


class _Reader:
    """Typed reads of environment variables whose errors name the variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def _raw(self, name: str) -> str | None:
        value = self.env.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    def text(self, name: str, default: str) -> str:
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
        value = self._parse(name, default, float, "a number of seconds")
        if value < 0:
            raise SettingsError(f"{name}={value} must not be negative")
        return value

    def hours(self, name: str, default: float) -> float:
        value = self._parse(name, default, float, "a number of hours")
        if value < 0:
            raise SettingsError(f"{name}={value} must not be negative")
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
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
        raw = self._raw(name)
        if raw is None:
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name}={raw!r} is not true or false")

    def statuses(self, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
        return self._parse(
            name,
            default,
            lambda raw: tuple(int(part) for part in raw.split(",") if part.strip()),
            "a comma-separated list of HTTP status codes",
        )

    def date(self, name: str, default: dt.date) -> dt.date:
        return self._parse(name, default, dt.date.fromisoformat, "a date like 2024-01-01")
