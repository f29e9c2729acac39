"""`SandboxServer`: the sandbox as a subprocess, driven over its control API.

A subprocess rather than a thread: the server gets its own interpreter and GIL, so a test
process that parses pages as fast as it can does not slow the server it measures, and
the real CLI path is what gets exercised. Only the standard library is used here, so the
tests' own HTTP client choice stays free.
"""

import queue
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from types import TracebackType
from typing import IO, Any, NoReturn, Self

import orjson

from support_assets.sandbox.faults import FaultSpec
from support_assets.sandbox.hostile import encode_case

_BANNER = "Support API sandbox on "
# Loopback never goes through a proxy, whatever HTTP_PROXY says.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class SandboxError(RuntimeError):
    """The sandbox did not start, or a control call was refused; the message says why."""


class SandboxServer:
    """Start `python -m support_assets.sandbox` on a free port and drive it from Python."""

    def __init__(
        self,
        tickets: int = 1000,
        comments: int = 5000,
        seed: int = 0,
        client_id: str = "sandbox-client",
        client_secret: str = "sandbox-secret",
        token_ttl: int = 3600,
        faults: tuple[FaultSpec, ...] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        anchor: str | None = None,
        startup_timeout: float = 60.0,
        vendor: str = "generic",
    ) -> None:
        self.config: dict[str, Any] = {
            "tickets": tickets,
            "comments": comments,
            "seed": seed,
            "client_id": client_id,
            "client_secret": client_secret,
            "token_ttl": token_ttl,
            "anchor": anchor,
            "vendor": vendor,
        }
        self.faults = tuple(faults)
        self.host, self.port = host, port
        self.startup_timeout = startup_timeout
        self.url = ""
        self.token_url = ""
        self.ready_seconds = 0.0  # process start to URL line, for the benchmark
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Spawn the server, wait for its URL line, then poll health until it answers.

        Raises:
            SandboxError: the process exited or stayed silent past `startup_timeout`.
        """
        command = [sys.executable, "-m", "support_assets.sandbox", "--host", self.host]
        command += ["--port", str(self.port), *self._cli_args()]
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8")
        started = time.perf_counter()
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self._stderr, text=True, encoding="utf-8"
        )
        lines: queue.Queue[str] = queue.Queue()
        # The reader keeps draining stdout after the banner, so output can never block the server.
        threading.Thread(target=_pump, args=(self._process.stdout, lines), daemon=True).start()
        deadline = started + self.startup_timeout
        while not (line := self._next_line(lines, deadline)).startswith(_BANNER):
            pass
        self.ready_seconds = time.perf_counter() - started
        self.url = line.removeprefix(_BANNER).strip()
        self.token_url = f"{self.url}/oauth/token"
        self._wait_healthy(deadline)

    def stop(self) -> None:
        """Send SIGTERM and wait for a clean exit; kill if it hangs."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._stderr.close()

    @property
    def pid(self) -> int | None:
        """The server process id while it runs, for tools that watch it."""
        return None if self._process is None else self._process.pid

    def reset(self, **changes: Any) -> dict[str, Any]:
        """Regenerate the data, drop tokens and stats, set faults (default: none).

        Omitted values keep the constructor's; accepts tickets, comments, seed, token_ttl,
        client_id, client_secret, anchor and faults.
        """
        unknown = set(changes) - {*self.config, "faults"}
        if unknown:
            raise TypeError(f"unknown reset argument(s): {', '.join(sorted(unknown))}")
        body = {**self.config, **changes}
        body["faults"] = list(changes.get("faults", ()))
        return self._call("POST", "reset", body)

    def set_faults(self, *faults: FaultSpec) -> None:
        """Replace the active faults: names, or `{"name": ..., **params}` dicts."""
        self._call("POST", "faults", {"faults": list(faults)})

    def clear_faults(self) -> None:
        """Deactivate every fault."""
        self._call("DELETE", "faults")

    def set_hostile(self, *cases: dict[str, Any]) -> None:
        """Serve these hostile cases (see `sandbox.hostile`); bytes are given as bytes."""
        self._call("POST", "hostile", {"cases": [encode_case(case) for case in cases]})

    def revoke_tokens(self) -> None:
        """Invalidate every token issued so far."""
        self._call("POST", "revoke")

    def update(self, resource: str, n: int = 0, *, ids: list[int] | None = None) -> list[int]:
        """Give `n` records (or those `ids`) new content and updated_at = now; return ids."""
        return self._mutate(resource, "update", n, ids)

    def create(self, resource: str, n: int) -> list[int]:
        """Add `n` new records (comments attach to existing tickets); return their ids."""
        return self._mutate(resource, "create", n, None)

    def delete(self, resource: str, n: int = 0, *, ids: list[int] | None = None) -> list[int]:
        """Soft-delete: tickets get status "deleted", comments `deleted: true`; both a new stamp."""
        return self._mutate(resource, "delete", n, ids)

    def hard_delete(self, resource: str, n: int = 0, *, ids: list[int] | None = None) -> list[int]:
        """Purge records entirely; purging tickets also purges their comments."""
        return self._mutate(resource, "hard_delete", n, ids)

    def restore(self, resource: str, n: int = 0, *, ids: list[int] | None = None) -> list[int]:
        """Undo soft deletes: tickets open again, comments lose `deleted`; both a new stamp."""
        return self._mutate(resource, "restore", n, ids)

    def truth(self, resource: str) -> list[dict[str, Any]]:
        """Every current record, as the API serves it, in API order."""
        return self._call("GET", f"truth?resource={resource}")

    def stats(self) -> dict[str, Any]:
        """Requests by route and status, token grants, faults injected, records and pages."""
        return self._call("GET", "stats")

    def request_log(self) -> list[dict[str, Any]]:
        """The latest API requests in arrival order, as the server saw them.

        Each has `arrived` and `answered` (seconds since the stats began, by the server's
        clock), `route` and `status`: the order a client's workers really sent them in.
        """
        return self._call("GET", "log")

    def reset_stats(self) -> None:
        """Zero every counter in `stats()`."""
        self._call("DELETE", "stats")

    def health(self) -> dict[str, Any]:
        """Counts, seed, anchor and active faults."""
        return self._call("GET", "health")

    def _mutate(self, resource: str, action: str, n: int, ids: list[int] | None) -> list[int]:
        body = {"resource": resource, "action": action, "count": n, "ids": ids}
        return self._call("POST", "mutate", body)["ids"]

    def _cli_args(self) -> list[str]:
        args = []
        for key, value in self.config.items():
            if value is not None:
                args += [f"--{key.replace('_', '-')}", str(value)]
        if self.faults:
            args += ["--faults", ",".join(_cli_fault(spec) for spec in self.faults)]
        return args

    def _next_line(self, lines: "queue.Queue[str]", deadline: float) -> str:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.perf_counter()))
        except queue.Empty:
            self._fail(f"printed no URL within {self.startup_timeout:g} s")
        if not line:
            self._fail("exited before printing its URL")
        return line

    def _wait_healthy(self, deadline: float) -> None:
        delay = 0.005
        while True:
            try:
                self.health()
                return
            except (OSError, SandboxError):
                if time.perf_counter() > deadline:
                    self._fail("never answered its health check")
                time.sleep(delay)  # polling a port with backoff, not waiting blind
                delay = min(delay * 2, 0.2)

    def _fail(self, what: str) -> NoReturn:
        """Stop the process and raise with its stderr, which says why it failed."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        self._stderr.seek(0)
        log = self._stderr.read()[-4000:]
        self._stderr.close()
        raise SandboxError(f"sandbox {what}; stderr:\n{log}")

    def _call(self, method: str, route: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else orjson.dumps(body)
        request = urllib.request.Request(f"{self.url}/_sandbox/{route}", data=data, method=method)
        request.add_header("content-type", "application/json")
        try:
            with _OPENER.open(request, timeout=120) as response:
                return orjson.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise SandboxError(f"{method} /_sandbox/{route}: {exc.code} {exc.read()!r}") from None


def _pump(stream: IO[str], lines: "queue.Queue[str]") -> None:
    """Forward the server's stdout line by line; an empty string means it closed."""
    for line in stream:
        lines.put(line)
    lines.put("")


def _cli_fault(spec: FaultSpec) -> str:
    if isinstance(spec, str):
        return spec
    params = {key: value for key, value in spec.items() if key != "name"}
    return ":".join([str(spec["name"]), *(f"{key}={value}" for key, value in params.items())])
