"""What the alert sensors read from the instance's event log, in storage-id order.

Every query reads after a storage id (the sensor's cursor) or before a time (a new sensor's
look-back), at most `BATCH` events of a type per tick: what is left is read on the next one.
"""

from collections.abc import Sequence

import dagster as dg

# Events read per query and tick; what is left is read on the next tick.
BATCH = 50
# The degraded-API sensor reads one of these per finished run.
RUN_END_EVENTS = (
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELED,
)


def run_ends(
    instance: dg.DagsterInstance, after: int | None, since: float | None
) -> list[dg.EventLogRecord]:
    """Runs that ended after the cursor (succeeded, failed or canceled), in event order."""
    batches = [
        instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(
                event_type=event_type, after_storage_id=after, after_timestamp=since
            ),
            limit=BATCH,
            ascending=True,
        ).records
        for event_type in RUN_END_EVENTS
    ]
    # A full batch may have more behind it: read nothing past its end this tick, or an
    # event of that type could fall behind the cursor unread.
    horizon = min((b[-1].storage_id for b in batches if len(b) >= BATCH), default=None)
    records = [r for b in batches for r in b if horizon is None or r.storage_id <= horizon]
    return sorted(records, key=lambda r: r.storage_id)


def run_failures(
    instance: dg.DagsterInstance, after: int | None, since: float | None
) -> Sequence[dg.EventLogRecord]:
    """Runs that failed after the cursor, in event order."""
    return instance.fetch_run_status_changes(
        dg.RunStatusChangeRecordsFilter(
            event_type=dg.DagsterEventType.RUN_FAILURE,
            after_storage_id=after,
            after_timestamp=since,
        ),
        limit=BATCH,
        ascending=True,
    ).records


def run_materializations(
    instance: dg.DagsterInstance, run_id: str, keys: Sequence[dg.AssetKey]
) -> list[dg.EventLogRecord]:
    """The run's materializations of our assets: one query, however many partitions."""
    ours = set(keys)
    return [
        record
        for record in instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        if record.asset_key in ours
    ]


def crash_explanation(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """Why the run's worker process ended, as the code server logged it, if it did.

    The code server logs "Run execution process for <id> was terminated by signal 9
    (SIGKILL)" just before it fails the run with a generic message.
    """
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=5, ascending=False
    ).records
    for record in records:
        # The code server prefixes its own name: `[DagsterApiServer] Run execution ...`.
        message = (record.event_log_entry.message or "").partition("Run execution process")
        if message[1]:
            return message[1] + message[2]
    return None


def newest_failure(instance: dg.DagsterInstance, before: float) -> int:
    """The storage id of the newest run failure before a time; 0 when there is none."""
    records = instance.fetch_run_status_changes(
        dg.RunStatusChangeRecordsFilter(
            event_type=dg.DagsterEventType.RUN_FAILURE, before_timestamp=before
        ),
        limit=1,
    ).records
    return records[0].storage_id if records else 0


def newest_run_end(instance: dg.DagsterInstance, before: float) -> int:
    """The storage id of the newest run end of any kind before a time; 0 when there is none."""
    return max(
        (
            record.storage_id
            for event_type in RUN_END_EVENTS
            for record in instance.fetch_run_status_changes(
                dg.RunStatusChangeRecordsFilter(event_type=event_type, before_timestamp=before),
                limit=1,
            ).records
        ),
        default=0,
    )
