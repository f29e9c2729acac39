"""Helpers shared by the alert tests: a webhook receiver, one sensor tick, runs that alert.

Runs are real (`dg.materialize` / `dg.execute_job` against the sandbox with faults) in a real
Dagster instance; the sensors are evaluated through `dg.build_sensor_context`, and a webhook
receiver on loopback records every POST.
"""

import dataclasses
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dagster as dg

from support_assets.alerts.cursor import AlertCursor
from support_assets.alerts.sink import AlertSink
from support_assets.definitions import build_definitions
from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import materialize, today, with_retry

UI = "https://dagster.example.com"
RETRY_SENSOR = "support_retry_alert_sensor"
FAILURE_SENSOR = "support_run_failure_sensor"

# The path of a Slack webhook is its secret: it must never show up in a log or tick.
HOOK_PATH = "/services/T000/B000/hook-path-secret-4e1d"


class Receiver:
    """A webhook on a free loopback port: answers 500 `fail_next` times, then 200."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []  # every POST received, accepted or not
        self.accepted: list[dict[str, Any]] = []
        self.fail_next = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.bodies.append(body)
                    failing = receiver.fail_next > 0
                    receiver.fail_next -= failing
                    if not failing:
                        receiver.accepted.append(json.loads(body))
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        # Listening from here on: a POST before the thread serves just waits in the backlog.
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{HOOK_PATH}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


def fast_sink(url: str) -> AlertSink:
    return AlertSink(webhook_url=url, attempts=3, backoff_s=0.01, timeout_s=5.0)


@dataclasses.dataclass
class Tick:
    skip_reason: str
    cursor: str


def tick(
    settings: Settings,
    name: str,
    instance: dg.DagsterInstance,
    cursor: str | None,
    sink: AlertSink | None = None,
) -> Tick:
    """One sensor evaluation, as the daemon would run it, with the sink given or as wired."""
    defs = build_definitions(settings)
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=defs,
        # A sensor called directly does not take the definitions' resources itself.
        resources={"alert_sink": sink or defs.resources["alert_sink"]},
    )
    result = defs.resolve_sensor_def(name)(context)
    assert isinstance(result, dg.SensorResult)
    assert not result.run_requests
    assert result.skip_reason is not None and result.cursor is not None
    return Tick(result.skip_reason.skip_message or "", result.cursor)


def failing_run(settings: Settings, sandbox: SandboxServer, **kwargs: Any) -> str:
    """A run that fails on 5xx (no HTTP retries), in the given instance; its run id."""
    sandbox.set_faults({"name": "server_errors", "ratio": 1.0})
    result = materialize(with_retry(settings, max_retries=0), **kwargs)
    sandbox.set_faults()
    assert not result.success
    return result.run_id


def cursor_after(done: Tick) -> int:
    """The storage id a tick's cursor has handled everything up to."""
    after = AlertCursor.parse(done.cursor).after
    assert after is not None
    return after


def started_support_run(settings: Settings, instance: dg.DagsterInstance) -> dg.DagsterRun:
    """A `support_refresh_job` run as the daemon creates it, before its worker reports."""
    job = build_definitions(settings).resolve_job_def("support_refresh_job")
    return instance.create_run_for_job(
        job_def=job, status=dg.DagsterRunStatus.STARTED, tags={"dagster/partition": today()}
    )


def degraded(settings: Settings) -> Settings:
    """Thresholds that any retry crosses, and a healthy run does not."""
    return dataclasses.replace(settings, alert_retry_threshold=0, alert_rate_limit_wait_threshold=0)


def rate_limited_run(settings: Settings, sandbox: SandboxServer, **kwargs: Any) -> str:
    """A successful run that met 429s on every data URL; its run id."""
    sandbox.set_faults({"name": "rate_limit", "ratio": 1.0, "retry_after": 0})
    result = materialize(settings, **kwargs)
    sandbox.set_faults()
    assert result.success
    return result.run_id


def materialization_numbers(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    return {
        event.asset_key.path[-1]: {k: v.value for k, v in event.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()
    }
