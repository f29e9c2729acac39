"""Contenders 3 to 5: the code location through the real `dagster asset materialize` CLI.

The command a user types for today's partition: `--select '*'` runs whatever the code
location defines on the assets, asset checks included.
"""

import datetime as dt
import re
import sys
from pathlib import Path

LOCATION = "support_assets.definitions"
# The line the asset body logs at the end of its dlt run; its seconds are the body's own time.
_SUMMARY_SECONDS = re.compile(r"Support API summary: .*?, ([0-9.]+) s, [0-9]+ records/s")


def today_partition() -> str:
    """Today's UTC partition: the open one, which the assets read incrementally."""
    return dt.datetime.now(dt.UTC).date().isoformat()


def materialize_command() -> list[str]:
    """Both assets for today's partition, through the `dagster` of this interpreter's venv."""
    dagster = str(Path(sys.executable).parent / "dagster")
    command = [dagster, "asset", "materialize", "--select", "*"]
    return [*command, "--partition", today_partition(), "-m", LOCATION]


def work_s(log: Path) -> float | None:
    """The asset body's own seconds, from the run summary it logged; None without one."""
    summary = _SUMMARY_SECONDS.findall(log.read_text(errors="replace"))
    return float(summary[-1]) if summary else None
