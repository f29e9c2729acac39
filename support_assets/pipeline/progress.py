"""Progress of a long load in the run log, every `SUPPORT_PROGRESS_EVERY` seconds.

A full load of a real desk runs for minutes to hours; without a word in between, nobody
can tell a slow desk from a stuck run. A background thread reads the run's telemetry (a
snapshot taken under its lock: the request threads keep counting meanwhile) and the slice
being read, and logs per resource what is done of what is known, the rate, the 429s met
and an estimate of the time left. The thread stops with the load, whatever its outcome.
"""

import dataclasses
import logging
import threading
import time
from types import TracebackType
from typing import Any, Protocol

from support_assets.source.telemetry import Telemetry, TelemetrySnapshot
from support_assets.source.timestamps import format_ts
from support_assets.source.window import OPEN_END

# Metadata key: the desk's announced total of the records read, per asset, where it gave one.
RECORDS_TOTAL = "records_total_at_desk"
# Metadata key: the last progress line, as the run log had it.
PROGRESS = "progress"


class SliceView(Protocol):
    """What the reporter needs of the slice loader (see `slices.SliceLoader`)."""

    current: Any  # the slice being read, None before the first
    slices: int  # slices committed so far

    @property
    def fraction_done(self) -> float:
        """Share of the window's span already committed."""
        ...


@dataclasses.dataclass(frozen=True)
class Progress:
    """The figures of one progress line, per resource and for the run."""

    snapshot: TelemetrySnapshot
    elapsed: float
    fraction: float | None

    def eta_s(self) -> float | None:
        """Seconds left if the rest goes as fast as what is done; None before any figure."""
        if self.fraction is None or self.fraction <= 0 or self.fraction >= 1:
            return 0.0 if self.fraction is not None and self.fraction >= 1 else None
        return self.elapsed * (1 - self.fraction) / self.fraction

    def line(self, position: str) -> str:
        """`tickets 1200 records in 13 pages of 5000 (24%), 80 records/s; ...`."""
        s = self.snapshot
        parts = []
        for name in sorted(set(s.records) | set(s.pages)):
            records = s.records.get(name, 0)
            total = s.totals.get(name)
            share = min(100.0, 100 * records / total) if total else 100.0
            of = f" of {total} announced ({share:.0f}%)" if total is not None else ""
            rate = records / self.elapsed if self.elapsed > 0 else 0.0
            parts.append(
                f"{name} {records} records in {s.pages.get(name, 0)} pages{of}, {rate:.0f}/s"
            )
        eta = self.eta_s()
        left = f"about {_duration(eta)} left" if eta is not None else "time left not known yet"
        return (
            f"Progress after {_duration(self.elapsed)}: {'; '.join(parts) or 'no page yet'}; "
            f"{s.requests} requests, {s.rate_limited} rate-limited (429); {position}; {left}."
        )


class ProgressReporter:
    """Logs the load's progress from a thread of its own until the block ends."""

    def __init__(
        self,
        telemetry: Telemetry,
        slices: SliceView,
        every: float,
        log: logging.Logger | Any,
    ) -> None:
        self.telemetry = telemetry
        self.slices = slices
        self.every = every
        self.log = log
        self.started = time.monotonic()
        self.last_line = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "ProgressReporter":
        self.started = time.monotonic()
        if self.every > 0:
            self._thread = threading.Thread(target=self._loop, name="support-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.last_line = self.report().line(self._position(final=exc_type is None))

    def _loop(self) -> None:
        # Event.wait, not sleep: the block's end wakes the thread at once.
        while not self._stop.wait(self.every):
            try:
                self.last_line = self.report().line(self._position(final=False))
                self.log.info(self.last_line)
            except Exception as exc:  # a progress line never fails a load
                self.log.debug(f"progress line skipped: {exc!r}")

    def report(self) -> Progress:
        """The figures as of now."""
        current = self.slices.current
        fraction: float | None = self.slices.fraction_done
        snapshot = self.telemetry.snapshot()
        if current is not None and not fraction:
            # Inside the first slice, the desk's totals (where given) say how far it is.
            done = sum(snapshot.records.get(n, 0) for n in snapshot.totals)
            known = sum(snapshot.totals.values())
            fraction = done / known if known else None
        return Progress(snapshot, time.monotonic() - self.started, fraction)

    def _position(self, final: bool) -> str:
        current = self.slices.current
        if current is None:
            return "planning"
        if final:
            return f"{self.slices.slices} slice(s) committed"
        end = format_ts(current.end) if current.end not in (None, OPEN_END) else "now"
        return f"slice {current.number} [{format_ts(current.start)}, {end})"

    def metadata(self, resource: str) -> dict[str, Any]:
        """The desk's total for one resource (where given) and the last progress line."""
        totals = self.telemetry.snapshot().totals
        found = {RECORDS_TOTAL: totals[resource]} if resource in totals else {}
        return {**found, PROGRESS: self.last_line}


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
