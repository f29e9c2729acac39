"""The workarounds against dlt that are code of their own, with the upstream threads.

Each is written once, here, and named where it is used, so that the day dlt fixes one, one
deletion removes it. The others are the shape of a module rather than a patch, and are
indexed here with their reason (dlt 1.31):

- `session.RetryingSession`: dlt's retrying session clamps a long `Retry-After` to its
  maximum delay, retrying earlier than the server asked (dlt-hub/dlt#4036 fixed only
  `Retry-After: 0`), and has no hook to count retries.
- `page_check.PageCheck` parses each body once and caches it on the response: dlt parses
  it once for the records and again for the paginator's total, and reads a missing data
  key as an empty page, which ends a resource green with partial data.
- `paginator.WindowedOffsetPaginator`: dlt's `OffsetPaginator` raises on an API without
  a total even with `stop_after_empty_page` (dlt-hub/dlt#4429, open), and offset pages
  over live data skip records.
- `config.to_dlt_config` compiles each data selector once (dlt compiles a string JSONPath
  again for every page) and sets the incremental's `primary_key=[]`, so that two updates of
  one record within the cursor's second are both read (dlt-hub/dlt#3657, fixed in 1.31).
- The Dagster side has its own, beside the code it shapes: the assets are a `multi_asset`
  over `build_dlt_asset_specs` because `@dlt_assets` takes no `retry_policy` (and
  `with_attributes` cannot add one: dagster-io/dagster#29052); `make demo` runs
  `dagster instance migrate` first (dagster-io/dagster#27390).
"""

import copy
import logging
import os
from typing import Any, Self


class SharedInRun:
    """Objects of a run (session, telemetry, page checks, clock) are not deep-copied.

    dlt's `rest_api` deep-copies the whole configuration before validating it, to mask
    the secrets in the copy (dlt-hub/verified-sources#542, dlt-hub/dlt#1474): copying a
    session, its connection pool and the telemetry's lock is wasted work at best and fails
    at worst. And dlt deep-copies a child resource's paginator for each parent record
    (dlt-hub/dlt#3779), where the page check it carries must stay the run's one.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self


class CopiedShallow:
    """An auth object is deep-copied as a shallow copy of itself.

    The same deep copy (see `SharedInRun`) masks the secrets of the auth object in its
    copy before validating it: a shallow copy leaves the live object, which the run's
    requests use, with its credentials, its token and its lock.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return copy.copy(self)


class _JsonAsTextNotice(logging.Filter):
    """Drop dlt's per-batch warning that a column hinted `json` arrived as Arrow text.

    That is the Arrow pages' design (JSON text into a JSON column, which every destination
    parses on load), not drift; left alone, the warning would repeat once per batch (the
    same per-batch warning for other hint differences: dlt-hub/dlt#3581, open). dlt still
    logs which hints differed at INFO.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "when merging arrow schema with dlt schema" not in record.getMessage()


_NOTICE = _JsonAsTextNotice()


def quiet_json_as_text_notice() -> None:
    """Install the filter on dlt's logger, once per process, when a source is built."""
    logger = logging.getLogger("dlt")
    if _NOTICE not in logger.filters:
        logger.addFilter(_NOTICE)


# Arrow pages skip dlt's row normalizer, which is what adds `_dlt_load_id` and `_dlt_id`;
# dlt's Parquet normalizer adds them only when told (its defaults are off, unlike the row
# normalizer's: dlt-hub/dlt#2615, dlt-hub/dlt#1317). Pages that fall back to dicts get
# them, so the Arrow ones must too, or one table would hold rows with and without them
# (and `_dlt_load_id` is NOT NULL).
ARROW_NORMALIZER_CONFIG = {
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID": "true",
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID": "true",
}


def add_dlt_columns_to_arrow_pages() -> None:
    """Ask dlt's Parquet normalizer for the loader columns, before a pipeline normalizes.

    dlt reads normalizer settings from its config providers only (no argument of
    `pipeline.run` reaches them); environment variables are the provider every process
    has. Forced, not defaulted: a table with and without the columns cannot load.
    """
    os.environ.update(ARROW_NORMALIZER_CONFIG)
