"""Where a sliced load stands, kept in dlt's state so that it commits with each slice's rows.

A long load is cut into slices, each its own dlt run (see `slices`). After each slice the
window's progress must be known to the next attempt of the same run, and only if that
slice's rows are in: so the marker is written into the source's dlt state during the
slice's own extraction, and dlt stores that state in the same load package as the rows.
dlt restores state only from completed loads, so a slice whose load did not finish left
no marker, and the next attempt reads it again.

dlt's state of a source function body is read-only (its changes are discarded); a step's
`bind` runs inside the extraction, where the state is the one dlt commits. So the marker
travels as a pass-through step on each top-level resource.
"""

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

import dlt
from dlt.extract.items_transform import ItemTransform

from support_assets.source.contract import SOURCE_NAME
from support_assets.source.timestamps import aware

# The key of the markers in the source's dlt state.
RESUME_STATE_KEY = "resume"
# Markers of other windows and lineages kept beside the current one (runs of different
# partitions may interleave); older ones are dropped.
KEPT_MARKERS = 8


@dataclasses.dataclass(frozen=True)
class Marker:
    """How far one run lineage got through one window, committed with the slice it names.

    `refresh_since` is a full refresh's first attempt's start, as a dlt load id: rows
    loaded before it are the ones the refresh did not read (see `drop_unread_rows`).
    """

    lineage: str
    done_until: dt.datetime
    span_s: float
    slices: int
    refresh_since: str | None = None

    def to_state(self) -> dict[str, Any]:
        """Plain JSON values: dlt's state survives every destination as they are."""
        return {
            "lineage": self.lineage,
            "done_until": self.done_until.isoformat(),
            "span_s": self.span_s,
            "slices": self.slices,
            "refresh_since": self.refresh_since,
        }

    @classmethod
    def from_state(cls, value: Any) -> "Marker | None":
        """A marker as stored, or None for anything that does not read as one."""
        if not isinstance(value, Mapping):
            return None
        try:
            return cls(
                lineage=str(value["lineage"]),
                done_until=dt.datetime.fromisoformat(str(value["done_until"])),
                span_s=float(value["span_s"]),
                slices=int(value["slices"]),
                refresh_since=value.get("refresh_since"),
            )
        except (KeyError, TypeError, ValueError):
            return None


def window_key(resources: list[str], start: dt.datetime, end: dt.datetime | None, kind: str) -> str:
    """What a marker is valid for: the resources read and the window (or its kind)."""
    bound = end.isoformat() if end is not None else "open"
    return f"{kind}|{','.join(sorted(resources))}|{start.isoformat()}|{bound}"


def stored_marker(pipeline: dlt.Pipeline, key: str, lineage: str) -> Marker | None:
    """The marker of this window left by this lineage, as the synced dlt state holds it."""
    source = pipeline.state.get("sources", {}).get(SOURCE_NAME, {})
    marker = Marker.from_state(source.get(RESUME_STATE_KEY, {}).get(key))
    return marker if marker is not None and marker.lineage == lineage else None


@dataclasses.dataclass(frozen=True)
class CursorMove:
    """A bounded slice of an incremental load moves the resource's dlt cursor to its end.

    dlt leaves its incremental state alone when `end_value` is set, and the run's last,
    open slice must start where the committed slices ended, not at the old cursor.
    """

    resource: str
    cursor_path: str
    initial: dt.datetime
    to: dt.datetime


class ResumeMark(ItemTransform[Any, Any]):
    """Pass-through step that writes the marker (and cursor move) when extraction starts."""

    def __init__(self, key: str, marker: Marker | None, move: CursorMove | None = None) -> None:
        super().__init__(lambda item: item)
        self.key = key
        self.marker = marker
        self.move = move

    def bind(self, pipe: Any) -> "ResumeMark":
        """Called by dlt inside the extraction: the state written here is committed."""
        markers = dlt.current.source_state().setdefault(RESUME_STATE_KEY, {})
        markers.pop(self.key, None)
        if self.marker is not None:
            markers[self.key] = self.marker.to_state()
            for stale in list(markers)[:-KEPT_MARKERS]:
                del markers[stale]
        if self.move is not None:
            self._move_cursor(self.move)
        return self

    @staticmethod
    def _move_cursor(move: CursorMove) -> None:
        state = dlt.current.resource_state(move.resource)
        cursor = state.setdefault("incremental", {}).setdefault(move.cursor_path, {})
        last = cursor.get("last_value")
        if isinstance(last, dt.datetime | str) and aware(last) >= move.to:
            return  # never back: the stored cursor is already past this slice
        cursor.update(
            {
                "initial_value": cursor.get("initial_value", move.initial),
                "last_value": move.to,
                "unique_hashes": [],
                "start_value": cursor.get("start_value", move.initial),
            }
        )

    def __call__(self, item: Any, meta: Any = None) -> Any:
        """Items pass unchanged."""
        return item
