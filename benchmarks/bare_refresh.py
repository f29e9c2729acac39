"""The idle refresh's yardstick: the code location's own dlt run, in a bare Python process.

    python -m benchmarks.bare_refresh --result /tmp/bare_refresh.json   # SUPPORT_* from env

The same source, connection, pipeline, destination and file format as the asset's run,
on the warehouse the CLI's full load left, but no Dagster: no CLI, no instance, no run
machinery, no asset checks. What the CLI's idle refresh takes beyond this process is what
Dagster costs (target: at most 2 s). The pipeline benchmark runs it in a process of its
own, right after the CLI's idle refresh on the same warehouse, so it is idle too.
"""

import datetime as dt
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks.measure import run_as_child


def run(env: Mapping[str, str]) -> dict[str, Any]:
    """Run one incremental refresh as the asset body does, Dagster left out; time it all.

    The imports are timed too: a bare process pays them as the CLI does.
    """
    started = time.perf_counter()
    from support_assets.pipeline import loader_file_format, support_pipeline
    from support_assets.settings import Settings
    from support_assets.source import support_source
    from support_assets.source.connection import Credentials, connect
    from support_assets.source.window import LoadWindow

    settings = Settings.from_env()
    # What `SupportApiResource.connect` builds for a run, spelled out: that module is Dagster's.
    connection = connect(
        env["SUPPORT_API_BASE_URL"],
        credentials=Credentials(
            client_id=env["SUPPORT_API_CLIENT_ID"], client_secret=env["SUPPORT_API_CLIENT_SECRET"]
        ),
        token_url=settings.token_url,
        api=settings.api,
        retry=settings.retry,
        token_refresh_margin=settings.token_refresh_margin,
        arrow_pages=settings.arrow_pages,
        window_lag=settings.window_lag,
    )
    # Today's partition is the incremental refresh: from the stored cursor, or the start date.
    start = dt.datetime.combine(settings.start_date, dt.time(), tzinfo=dt.UTC)
    working_dir = Path(settings.dlt_dir).absolute() / "runs" / "bare_refresh"
    pipeline = support_pipeline(settings, working_dir)
    imported = time.perf_counter()
    pipeline.run(
        support_source(connection=connection, window=LoadWindow(start=start)),
        loader_file_format=loader_file_format(settings),  # type: ignore[arg-type]
    )
    done = time.perf_counter()
    return {"work_s": done - imported, "import_s": imported - started}


if __name__ == "__main__":
    run_as_child(run)
