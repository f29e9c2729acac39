"""Benchmark the sandbox: time to ready, and pages/s for one sequential keep-alive client.

    python -m benchmarks.sandbox            # 100,000 tickets, 500,000 comments
    python -m benchmarks.sandbox --small    # 10,000 / 50,000, a quick check

The client is the one a pipeline uses: a `requests.Session` on one keep-alive connection,
`limit=100`, every body read in full. On a 2-core machine that client costs more CPU per
page than the server does, so the table also shows the server's own capacity, measured
with the standard library's bare `http.client` on one connection.
"""

import argparse
import http.client
import statistics
import time
from urllib.parse import urlsplit

import orjson
import requests

from benchmarks.measure import peak_mb
from support_assets.sandbox import SandboxServer

TARGET_PAGES_PER_SECOND = 1000
TARGET_READY_SECONDS = 5.0
PATHS = {"tickets": "/v1/tickets", "comments": "/v1/ticket_comments"}


def requests_pass(session: requests.Session, url: str, total: int, parse: bool) -> float:
    """Fetch every page of one collection in order; return pages per second."""
    started = time.perf_counter()
    pages = 0
    for offset in range(0, total, 100):
        response = session.get(url, params={"offset": offset, "limit": 100})
        response.raise_for_status()
        body = response.content
        if parse:
            orjson.loads(body)
        pages += 1
    return pages / (time.perf_counter() - started)


def raw_pass(base_url: str, path: str, token: str, total: int) -> float:
    """The same pages through bare http.client: what the server alone can do."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    pages = 0
    for offset in range(0, total, 100):
        connection.request("GET", f"{path}?offset={offset}&limit=100", headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
        pages += 1
    connection.close()
    return pages / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--comments", type=int, default=500_000)
    parser.add_argument("--small", action="store_true", help="10,000 tickets, 50,000 comments")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the tickets")
    parser.add_argument("--parse", action="store_true", help="also decode every page's JSON")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.small:
        args.tickets, args.comments = 10_000, 50_000
    sizes = {"tickets": args.tickets, "comments": args.comments}

    with SandboxServer(tickets=args.tickets, comments=args.comments, seed=args.seed) as sandbox:
        session = requests.Session()
        session.trust_env = False  # loopback: no proxy, no netrc lookups
        grant = session.post(
            sandbox.token_url,
            data={"grant_type": "client_credentials"},
            auth=(sandbox.config["client_id"], sandbox.config["client_secret"]),
        ).json()
        session.headers["Authorization"] = f"Bearer {grant['access_token']}"
        rates = {
            resource: [
                requests_pass(session, sandbox.url + PATHS[resource], size, args.parse)
                for _ in range(args.repeat if resource == "tickets" else 1)
            ]
            for resource, size in sizes.items()
        }
        raw = raw_pass(sandbox.url, PATHS["tickets"], grant["access_token"], args.tickets)
        rss = peak_mb(sandbox.pid)  # the server's own VmHWM
        served = sandbox.stats()["records_served"]
        expected = {"tickets": args.tickets * (args.repeat + 1), "comments": args.comments}
        assert served == expected, (served, expected)

    client = "requests.Session" + (" + orjson.loads" if args.parse else "")
    print(f"sandbox benchmark: {args.tickets:,} tickets, {args.comments:,} comments, limit=100")
    print(f"  {'ready (process start -> URL line)':<44} {sandbox.ready_seconds:>8.2f} s")
    for resource, passes in rates.items():
        label = f"{resource}, {client}"
        detail = f"best of {len(passes)}, median {statistics.median(passes):,.0f}"
        print(f"  {label:<44} {max(passes):>8,.0f} pages/s  ({detail})")
    print(f"  {'tickets, bare http.client (server capacity)':<44} {raw:>8,.0f} pages/s")
    if rss is not None:
        print(f"  {'server memory (peak RSS)':<44} {rss:>8,.0f} MB")
    ready_ok = sandbox.ready_seconds < TARGET_READY_SECONDS
    pages_ok = max(rates["tickets"]) >= TARGET_PAGES_PER_SECOND
    pages_verdict = "n/a with --parse" if args.parse else ("ok" if pages_ok else "MISSED")
    print(
        f"  targets: ready < {TARGET_READY_SECONDS:.0f} s: {'ok' if ready_ok else 'MISSED'};"
        f" >= {TARGET_PAGES_PER_SECOND:,} ticket pages/s: {pages_verdict}"
    )


if __name__ == "__main__":
    main()
