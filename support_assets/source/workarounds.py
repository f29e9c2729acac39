"""Every place the source works around dlt, with the reason and the upstream thread.

Each workaround is written once, here, and named where it is used, so that the day dlt
fixes one, one deletion removes it. (The Dagster side has one more, beside the code it
shapes: the assets are a `multi_asset` over `build_dlt_asset_specs`, because dagster-dlt's
`@dlt_assets` takes no `retry_policy`; see `build_support_assets`.)
"""

import copy
import logging
import os
from typing import Any, Self


class SharedInRun:
    """Objects of a run (session, telemetry, page checks, clock) survive dlt's deep copy.

    dlt's `rest_api` deep-copies the whole configuration dict before validating it, to
    mask the secrets in the copy (dlt-hub/verified-sources#542, dlt-hub/dlt#1474). The
    copy is then what builds the resources, so without this every resource would count
    into a telemetry of its own and talk through a session of its own.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self


class CopiedShallow:
    """Credentials objects survive dlt's deep copy as a shallow copy of themselves.

    The same deep copy (see `SharedInRun`) masks the secrets of an auth object in its
    copy before validating it: a shallow copy leaves the live object, which the run's
    requests use, with its credentials and its token.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return copy.copy(self)


class _JsonAsTextNotice(logging.Filter):
    """Drop dlt's per-batch warning that a column hinted `json` arrived as Arrow text.

    That is the Arrow pages' design (JSON text into a JSON column, which every destination
    parses on load), not drift; left alone, the warning would repeat once per batch. dlt
    still logs which hints differed at INFO.
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
