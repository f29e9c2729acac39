"""What a run did against the desk, counted as it happens, and how it is reported.

The counters are filled by the session, the page checks and the Arrow step; the keys
below are the names the numbers carry in every report (the asset's metadata in the UI,
the alert sensors that read it back, the benchmark), written once here for all of them.
No Dagster import: the report is plain values, which Dagster's metadata takes as they are.
"""

import dataclasses
import datetime as dt
import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import Any

from support_assets.source.timestamps import format_ts
from support_assets.source.workarounds import SharedInRun

# Metadata keys of a load, per asset; the HTTP numbers are the run's, the same on each.
HTTP_REQUESTS = "http_requests"
PAGES = "pages"
RECORDS_FETCHED = "records_fetched"
PAGES_VIA_ROW_PATH = "pages_via_row_path"
RETRIES = "retries"
# `retries_503`, `retries_ConnectionError`: one key per cause.
RETRIES_BY_CAUSE_PREFIX = "retries_"
RENAMED_FIELDS = "renamed_fields"
RATE_LIMITED = "rate_limited_429"
RETRY_AFTER_WAIT_S = "retry_after_wait_s"
# Waiting for the desk's rate budget (`budget.py`), apart from the 429 waits above, which
# the alerts read: planned pacing is not the desk degrading. The hold is what workers other
# than the one that got a 429 waited for its pause.
PACED_WAIT_S = "paced_wait_s"
RATE_LIMIT_HOLD_S = "rate_limit_hold_s"
TOKEN_GRANTS = "token_grants"
TOKEN_RECOVERIES = "token_recoveries"
DURATION_S = "duration_s"
RECORDS_PER_S = "records_per_s"


class Telemetry(SharedInRun):
    """What the HTTP layer did during one run: the numbers on-call engineers plot.

    Thread-safe because dlt may extract both resources at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.responses_by_status: Counter[int] = Counter()
        self.retries_by_status: Counter[str] = Counter()
        self.rate_limited = 0
        self.retry_after_wait_s = 0.0
        self.backoff_wait_s = 0.0
        self.paced_wait_s = 0.0
        self.held_wait_s = 0.0
        self.token_grants = 0
        self.token_recoveries = 0
        # The latest retries as (cause, Retry-After header or None, seconds waited).
        self.recent_retries: deque[tuple[str, str | None, float]] = deque(maxlen=50)
        self.pages: Counter[str] = Counter()
        self.records: Counter[str] = Counter()
        # Pages that did not fit the table's column types went through dlt's slower row
        # path (see `arrow.py`): a steady non-zero count means the API's types moved.
        self.row_path_pages: Counter[str] = Counter()
        # Vendor fields kept under another name (`_dlt_id` -> `vendor_dlt_id`), by resource.
        self.renamed_fields: dict[str, dict[str, str]] = {}
        # The largest record of a large page (bytes, resource, id), and who wants to know:
        # the load raises DuckDB's memory cap to fit it.
        self.largest_record: tuple[int, str, Any] = (0, "", None)
        self.on_large_record: Callable[[int], None] | None = None

    def count_response(self, status: int) -> None:
        """A response arrived, whatever its status."""
        with self._lock:
            self.requests += 1
            self.responses_by_status[status] += 1
            if status == 429:
                self.rate_limited += 1

    def note_renamed(self, resource: str, field: str, kept_as: str) -> None:
        """A vendor field collided with a loader column and is kept under another name."""
        with self._lock:
            self.renamed_fields.setdefault(resource, {})[field] = kept_as

    def note_record_size(self, resource: str, ident: Any, size: int) -> None:
        """A record of `size` bytes arrived; the largest one is kept and announced."""
        with self._lock:
            if size <= self.largest_record[0]:
                return
            self.largest_record = (size, resource, ident)
            hook = self.on_large_record
        if hook is not None:
            hook(size)

    def describe_largest_record(self) -> str:
        """`ticket_comments id 17, 12.0 MB`, or that no record was large, for error messages."""
        size, resource, ident = self.largest_record
        if not size:
            return "no record above 1 MB"
        return f"{resource} id {ident!r}, {size / 1e6:.1f} MB"

    def count_row_path_pages(self, resource: str, pages: int) -> None:
        """Pages went to dlt as dicts because they did not fit the columns' types."""
        with self._lock:
            self.row_path_pages[resource] += pages

    def count_error(self) -> None:
        """An attempt ended without a response (connection error, timeout)."""
        with self._lock:
            self.requests += 1

    def count_retry(self, cause: str, waited: float, retry_after: str | None) -> None:
        """A retry is about to wait `waited` seconds."""
        with self._lock:
            self.retries_by_status[cause] += 1
            self.recent_retries.append((cause, retry_after, waited))
            if retry_after is not None:
                self.retry_after_wait_s += waited
            else:
                self.backoff_wait_s += waited

    def count_budget_wait(self, paced: float, held: float) -> None:
        """A request waited for its slot in the desk's budget (pacing, or a 429's pause)."""
        if paced or held:
            with self._lock:
                self.paced_wait_s += paced
                self.held_wait_s += held

    def count_token_grant(self) -> None:
        """The token endpoint issued a token."""
        with self._lock:
            self.token_grants += 1

    def count_token_recovery(self) -> None:
        """A request met a rejected token and was repeated with a new one."""
        with self._lock:
            self.token_recoveries += 1

    def count_page(self, resource: str, records: int) -> None:
        """A data page passed the page checks."""
        with self._lock:
            self.pages[resource] += 1
            self.records[resource] += records

    @property
    def retries(self) -> int:
        """All retries, whatever their cause."""
        return sum(self.retries_by_status.values())

    # --- progress of a long load (read from the progress reporter's thread) -------------

    def note_total(self, resource: str, total: int) -> None:
        """The desk said how many records the read now starting holds (its first page)."""
        with self._lock:
            self.totals[resource] = self.totals.get(resource, 0) + total

    def snapshot(self) -> "TelemetrySnapshot":
        """The counters a progress line needs, copied under the lock: one instant's view."""
        with self._lock:
            return TelemetrySnapshot(
                requests=self.requests,
                pages=dict(self.pages),
                records=dict(self.records),
                totals=dict(self.totals),
                rate_limited=self.rate_limited,
                retries=sum(self.retries_by_status.values()),
            )

    @property
    def totals(self) -> dict[str, int]:
        """Records the desk announced, by resource, summed over the reads of this run.

        Created on first use, so that this block stays apart from `__init__`.
        """
        return self.__dict__.setdefault("_totals", {})


@dataclasses.dataclass(frozen=True)
class TelemetrySnapshot:
    """Counters of a run at one instant (see `Telemetry.snapshot`)."""

    requests: int
    pages: dict[str, int]
    records: dict[str, int]
    totals: dict[str, int]
    rate_limited: int
    retries: int


def telemetry_metadata(telemetry: Telemetry, resource: str, elapsed: float) -> dict[str, Any]:
    """The run's HTTP numbers and one resource's page counts, as numbers a UI can plot."""
    t = telemetry
    records = t.records[resource]
    return {
        HTTP_REQUESTS: t.requests,
        PAGES: t.pages[resource],
        RECORDS_FETCHED: records,
        PAGES_VIA_ROW_PATH: t.row_path_pages[resource],
        RETRIES: t.retries,
        # Vendor fields colliding with the loader's columns, and the columns keeping them.
        **({RENAMED_FIELDS: t.renamed_fields[resource]} if resource in t.renamed_fields else {}),
        RATE_LIMITED: t.rate_limited,
        RETRY_AFTER_WAIT_S: round(t.retry_after_wait_s, 3),
        PACED_WAIT_S: round(t.paced_wait_s, 3),
        RATE_LIMIT_HOLD_S: round(t.held_wait_s, 3),
        TOKEN_GRANTS: t.token_grants,
        TOKEN_RECOVERIES: t.token_recoveries,
        DURATION_S: round(elapsed, 3),
        RECORDS_PER_S: round(records / elapsed, 1) if elapsed > 0 else 0.0,
        **{
            f"{RETRIES_BY_CAUSE_PREFIX}{cause}": n
            for cause, n in sorted(t.retries_by_status.items())
        },
    }


def retries_by_cause(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The per-cause retry counts of a load's metadata, keyed by cause (`503`)."""
    return {
        key.removeprefix(RETRIES_BY_CAUSE_PREFIX): value
        for key, value in metadata.items()
        if key.startswith(RETRIES_BY_CAUSE_PREFIX)
    }


def run_summary(
    telemetry: Telemetry,
    elapsed: float,
    description: str,
    before: Mapping[str, dt.datetime],
    after: Mapping[str, dt.datetime],
) -> str:
    """One line for the run log: what the API cost this run, and where the cursors went."""
    t = telemetry
    records = sum(t.records.values())
    by_status = ", ".join(f"{cause}: {n}" for cause, n in sorted(t.retries_by_status.items()))
    per_resource = ", ".join(f"{name} {n}" for name, n in sorted(t.records.items()))
    rate = records / elapsed if elapsed > 0 else 0.0
    cursors = ", ".join(
        f"{name} {_ts(before.get(name))} -> {_ts(after.get(name))}"
        for name in sorted(set(before) | set(after))
    )
    return (
        f"Support API summary: {description}; {t.requests} HTTP requests, "
        f"{sum(t.pages.values())} pages, {records} records"
        f"{f' ({per_resource})' if per_resource else ''}, {t.retries} retries"
        f"{f' ({by_status})' if by_status else ''}, {t.rate_limited} rate-limited (429) "
        f"with {t.retry_after_wait_s:.1f} s waited on Retry-After, {t.token_grants} token "
        f"grants, {t.token_recoveries} token recoveries, {elapsed:.1f} s, {rate:.0f} records/s"
        f"; cursor {cursors or 'none'}."
    )


def _ts(value: dt.datetime | None) -> str:
    return format_ts(value) if value is not None else "none"
