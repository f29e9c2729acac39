"""Contender 1, the floor: no loader can beat one client that fetches and decodes every page.

    python -m benchmarks.floor --result /tmp/floor.json   # SUPPORT_API_* from the environment

The pipeline benchmark runs it in a process of its own that imports the standard library,
orjson and this package's `measure` and `workload`, nothing more (no dlt, no Dagster, not
the sandbox's client): its start-up and memory are part of the floor.
"""

import http.client
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

from benchmarks.measure import run_as_child
from benchmarks.workload import COLLECTIONS, PAGE_SIZE


def _connection(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)


def run(env: Mapping[str, str]) -> dict[str, Any]:
    """Fetch and decode every page of both collections on one keep-alive connection."""
    started = time.perf_counter()
    token_url = urlsplit(env["SUPPORT_API_TOKEN_URL"])
    grant = _connection(env["SUPPORT_API_TOKEN_URL"])
    form = {
        "grant_type": "client_credentials",
        "client_id": env["SUPPORT_API_CLIENT_ID"],
        "client_secret": env["SUPPORT_API_CLIENT_SECRET"],
    }
    content_type = {"Content-Type": "application/x-www-form-urlencoded"}
    grant.request("POST", token_url.path, body=urlencode(form), headers=content_type)
    response = grant.getresponse()
    token = orjson.loads(response.read())["access_token"]
    grant.close()

    connection = _connection(env["SUPPORT_API_BASE_URL"])
    headers = {"Authorization": f"Bearer {token}"}
    records: dict[str, int] = {}
    for resource, (path, selector, _) in COLLECTIONS.items():
        offset, total, count = 0, 1, 0
        while offset < total:
            connection.request("GET", f"{path}?offset={offset}&limit={PAGE_SIZE}", headers=headers)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path} offset {offset}: HTTP {response.status}")
            page = orjson.loads(body)
            count += len(page[selector])
            total = page["total"]
            offset += PAGE_SIZE
        records[resource] = count
    connection.close()
    return {"work_s": time.perf_counter() - started, "records": records}


if __name__ == "__main__":
    run_as_child(run)
