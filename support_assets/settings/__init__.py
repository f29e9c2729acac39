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
from collections.abc import Mapping
from typing import Any

from support_assets.settings.desk import check_mechanisms, read_api
from support_assets.settings.reader import Reader, SettingsError, memory_bytes
from support_assets.source.contract import (
    DEFAULT_API,
    DEFAULT_RETRY,
    DEFAULT_START_DATE,
    MAX_CONCURRENCY,
    TOKEN_REFRESH_MARGIN_S,
    ApiNames,
    RetryPolicy,
)
from support_assets.source.history import HISTORY_MODES
from support_assets.source.privacy import FieldRule, check_rules, parse_rules
from support_assets.source.vendors import PRESETS, preset

__all__ = ["Settings", "SettingsError", "memory_bytes"]


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
    # Requests per minute to any one desk, from every run in this process (0: no cap), for
    # desks that do not advertise their budget (see `source/budget.py`).
    max_requests_per_minute: int = 0
    # Deleted records (support_reconcile_job): `mark` sets `_deleted_at` and keeps the row,
    # `remove` deletes it; the job's schedule, off by default as the refresh's is.
    deletes: str = "mark"
    reconcile_cron: str = "0 3 * * 0"
    reconcile_schedule_running: bool = False
    # Requests in flight at once in a run: both resources, the time parts of a windowed
    # one and per-ticket children together.
    max_concurrency: int = MAX_CONCURRENCY
    # Change history and customer data (issue #16): `scd2` keeps every version of a record;
    # the listed fields are never loaded, or loaded as a keyed hash. Only the salt's
    # presence is read here: it is a secret, resolved through `dg.EnvVar` at run time.
    history: str = "latest"
    exclude_columns: tuple[FieldRule, ...] = ()
    hash_columns: tuple[FieldRule, ...] = ()
    hash_salt: bool = False
    # Long loads: each dlt run (a committed slice) aims at this many records, so a killed
    # load starts again from its last slice; 0 reads every window in one dlt run.
    commit_records: int = 100_000
    # Seconds between progress lines in the run log during a load; 0 turns them off.
    progress_every: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read every `SUPPORT_*` setting; unset ones keep the contract's defaults."""
        env = os.environ if environ is None else environ
        base = cls()
        get = Reader(env)
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
            max_requests_per_minute=get.integer(
                "SUPPORT_MAX_REQUESTS_PER_MINUTE", base.max_requests_per_minute, minimum=0
            ),
            deletes=get.choice("SUPPORT_DELETES", base.deletes, ("mark", "remove")),
            reconcile_cron=get.text("SUPPORT_RECONCILE_CRON", base.reconcile_cron),
            reconcile_schedule_running=get.flag(
                "SUPPORT_RECONCILE_SCHEDULE_RUNNING", base.reconcile_schedule_running
            ),
            max_concurrency=get.integer("SUPPORT_MAX_CONCURRENCY", base.max_concurrency, minimum=1),
            **read_customer_data(get, api),
            commit_records=get.integer("SUPPORT_COMMIT_RECORDS", base.commit_records, minimum=0),
            progress_every=get.seconds("SUPPORT_PROGRESS_EVERY", base.progress_every),
        )


# The smallest salt accepted: a shorter one is guessed along with the values it hides.
MIN_SALT_LENGTH = 16


def read_customer_data(get: Reader, api: ApiNames) -> dict[str, Any]:
    """SUPPORT_HISTORY and the customer-data settings, checked against the desk's names."""
    exclude = parse_rules(get.names("SUPPORT_EXCLUDE_COLUMNS", ()))
    hashed = parse_rules(get.names("SUPPORT_HASH_COLUMNS", ()))
    problem = check_rules(api, exclude, hashed)
    if problem:
        raise SettingsError(problem)
    salt = get.env.get("SUPPORT_HASH_SALT", "").strip()
    if hashed and not salt:
        raise SettingsError(
            "SUPPORT_HASH_COLUMNS is set but SUPPORT_HASH_SALT is not: set it to a long "
            "random secret (e.g. `openssl rand -hex 32`) and keep it; a new salt changes "
            "every hash, and joins with earlier loads break."
        )
    if salt and len(salt) < MIN_SALT_LENGTH:
        raise SettingsError(
            f"SUPPORT_HASH_SALT is shorter than {MIN_SALT_LENGTH} characters: a short salt "
            "is guessed along with the values it hides. Use a long random secret."
        )
    return {
        "history": get.choice("SUPPORT_HISTORY", "latest", HISTORY_MODES),
        "exclude_columns": exclude,
        "hash_columns": hashed,
        "hash_salt": bool(salt),
    }
