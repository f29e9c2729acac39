"""Requests each preset makes against its desk's emulator: a full load and an idle refresh.

    python -m benchmarks.vendor_costs                        # 1000 tickets, 5000 comments
    python -m benchmarks.vendor_costs --tickets 250 --comments 600 --vendors freshdesk

For each desk, one emulator (`SandboxServer(vendor=...)`, Zendesk's data ending an hour
ago, as its export leaves out the last minute) and one fresh DuckDB file: today's partition
of both assets is materialized through `dg.materialize` on the empty warehouse (the full
load), then their asset checks run, then the assets again with nothing changed (the idle
refresh); each is counted on its own (the checks ask the API only for totals: Zendesk and
Freshdesk send none and cost nothing, Help Scout's count is a token and one list page).
The requests are the emulator's own counters, by route; the records are its truth
(Freshdesk's deleted tickets excluded, as the preset does not read them). The emulators and
credentials are the demo's (`make demo VENDOR=...`). Prints a Markdown table and the same
numbers as JSON.
"""

import argparse
import datetime as dt
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import orjson

from support_assets.definitions import build_definitions
from support_assets.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, demo_sandbox, desk_credentials
from support_assets.settings import Settings

VENDORS = ("generic", "zendesk", "freshdesk", "helpscout")


def materialize(settings: Settings, checks: bool = False) -> bool:
    """Today's partition of both assets (a load), or only their checks; whether it passed."""
    defs = build_definitions(settings)
    assets = [defs.get_assets_def("support_tickets")]
    if checks:  # as the UI's "Execute checks" runs them: no partition
        result = dg.materialize(
            [*assets, *(defs.asset_checks or [])],
            resources=defs.resources,
            selection=dg.AssetSelection.all_asset_checks(),
            raise_on_error=False,
        )
    else:
        result = dg.materialize(
            assets,
            resources=defs.resources,
            partition_key=dt.datetime.now(dt.UTC).date().isoformat(),
            raise_on_error=False,
        )
    if not checks and not result.success:
        raise SystemExit(f"{settings.vendor}: the load failed")
    return result.success


def by_route(stats: Mapping[str, Any]) -> dict[str, int]:
    """Requests per route, the per-ticket ones under one `{id}` route."""
    counts: dict[str, int] = {}
    for route, codes in stats["requests"].items():
        route = re.sub(r"/\d+(?=/|$)", "/{id}", route)
        counts[route] = counts.get(route, 0) + sum(codes.values())
    return dict(sorted(counts.items()))


def measure(vendor: str, tickets: int, comments: int, work: Path) -> dict[str, Any]:
    """Start the desk's emulator, load it twice, and count what each load asked."""
    with demo_sandbox(vendor, tickets, comments) as server:
        env = {
            "SUPPORT_VENDOR": vendor,
            "SUPPORT_API_BASE_URL": server.url,
            "SUPPORT_DUCKDB_PATH": str(work / f"{vendor}.duckdb"),
            "SUPPORT_DLT_DIR": str(work / f"dlt-{vendor}"),
            "SUPPORT_LOAD_RETRIES": "0",
            **desk_credentials(vendor, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        }
        os.environ.update(env)  # the resource's `EnvVar`s resolve from the process
        try:
            settings = Settings.from_env({**os.environ})
            truth_tickets = server.truth("tickets")
            deleted = {t["id"] for t in truth_tickets if t.get("deleted")}
            if vendor != "freshdesk":
                deleted = set()  # only Freshdesk hides its deleted tickets from the list
            loaded_tickets = [t for t in truth_tickets if t["id"] not in deleted]
            truth_comments = [c for c in server.truth("comments") if c["ticket_id"] not in deleted]
            server.reset_stats()
            materialize(settings)
            full = by_route(server.stats())
            server.reset_stats()
            checks_passed = materialize(settings, checks=True)
            checks = by_route(server.stats())
            server.reset_stats()
            materialize(settings)
            idle = by_route(server.stats())
        finally:
            for name in env:
                os.environ.pop(name, None)
    return {
        "vendor": vendor,
        "tickets": len(loaded_tickets),
        "comments": len(truth_comments),
        "full_load": full,
        "idle_refresh": idle,
        "checks": checks,
        "checks_passed": checks_passed,
    }


def main(argv: list[str] | None = None) -> None:
    """Measure every requested desk and print the table, then the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--comments", type=int, default=5000)
    parser.add_argument("--vendors", nargs="+", choices=VENDORS, default=list(VENDORS))
    args = parser.parse_args(argv)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    with tempfile.TemporaryDirectory(prefix="vendor_costs_") as tmp:
        os.environ["DLT_DATA_DIR"] = str(Path(tmp) / "dlt_home")
        results = [measure(v, args.tickets, args.comments, Path(tmp)) for v in args.vendors]
    print("| desk | tickets | comments | full load | idle refresh | checks |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        cells = [f"{sum(c.values())} ({_routes(c)})" for c in (r["full_load"], r["idle_refresh"])]
        checks = f"{sum(r['checks'].values())}{'' if r['checks_passed'] else ', FAILED'}"
        print(
            f"| {r['vendor']} | {r['tickets']} | {r['comments']} | {' | '.join(cells)} | {checks} |"
        )
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())


def _routes(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{route} {n}" for route, n in counts.items())


if __name__ == "__main__":
    main()
