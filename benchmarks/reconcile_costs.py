"""Requests one reconcile's listing makes on each preset against its desk's emulator.

    python -m benchmarks.reconcile_costs                      # 1000 tickets, 5000 comments
    python -m benchmarks.reconcile_costs --tickets 3000 --comments 15000

The listing alone (`reconcile.listing.list_tickets`), with the demo's emulator and keys: it
is the whole of what the reconcile asks the desk (the marking is the warehouse's). Prints a
Markdown table: requests by route, and how many ids the listing named.
"""

import argparse
import os

from benchmarks.vendor_costs import VENDORS, by_route
from support_assets.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, demo_sandbox, desk_credentials
from support_assets.reconcile.listing import list_tickets
from support_assets.resources import SupportApiResource
from support_assets.settings import Settings


def measure(vendor: str, tickets: int, comments: int) -> tuple[str, int, dict[str, int]]:
    """The listing's kind, the ids it named and its requests by route."""
    with demo_sandbox(vendor, tickets, comments) as server:
        credentials = desk_credentials(vendor, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        settings = Settings.from_env({"SUPPORT_VENDOR": vendor})
        resource = SupportApiResource(
            base_url=server.url,
            client_id=credentials.get("SUPPORT_API_CLIENT_ID", ""),
            client_secret=credentials.get("SUPPORT_API_CLIENT_SECRET", ""),
            username=credentials.get("SUPPORT_API_USERNAME", ""),
            password=credentials.get("SUPPORT_API_PASSWORD", ""),
        )
        server.reset_stats()
        listing = list_tickets(settings, resource.connect(settings))
        return listing.kind, len(listing.ids), by_route(server.stats())


def main(argv: list[str] | None = None) -> None:
    """Measure every requested desk and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--comments", type=int, default=5000)
    parser.add_argument("--vendors", nargs="+", choices=VENDORS, default=list(VENDORS))
    args = parser.parse_args(argv)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    print("| desk | listing | ids named | requests |")
    print("| --- | --- | --- | --- |")
    for vendor in args.vendors:
        kind, named, routes = measure(vendor, args.tickets, args.comments)
        detail = ", ".join(f"{route} {n}" for route, n in routes.items())
        print(f"| {vendor} | {kind} | {named} | {sum(routes.values())} ({detail}) |")


if __name__ == "__main__":
    main()
