"""Run the sandbox under uvicorn and announce its URL once it accepts connections."""

import signal
import socket
import sys
from types import FrameType

import uvicorn

from support_assets.sandbox.app import SandboxApp
from support_assets.sandbox.state import Config, Sandbox

BANNER = "Support API sandbox on"


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints its URL only after it is listening.

    The URL line is the readiness signal a parent process waits for, so it must not come
    before the listening socket exists.
    """

    def __init__(self, config: uvicorn.Config, url: str) -> None:
        super().__init__(config)
        self.url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            sys.stdout.write(f"{BANNER} {self.url}\n")
            sys.stdout.flush()


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(config: Config, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Bind, generate the data, then serve until SIGINT or SIGTERM (exit status 0).

    The socket is bound before the data is generated, so a busy port fails in
    milliseconds rather than after seconds of generation.
    """
    # uvicorn restores these after its graceful shutdown and re-raises the signal it caught;
    # they turn that (and a signal during generation) into a clean exit.
    signal.signal(signal.SIGINT, _exit_cleanly)
    signal.signal(signal.SIGTERM, _exit_cleanly)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sys.exit(f"error: cannot listen on {host}:{port}: {exc.strerror}")
    url_host = f"[{host}]" if ":" in host else host
    url = f"http://{url_host}:{sock.getsockname()[1]}"
    app = SandboxApp(Sandbox(config), url)
    uv_config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=60,
        timeout_graceful_shutdown=2,
        # Nothing sits in front of the sandbox, and each skipped header is work per response.
        proxy_headers=False,
        server_header=False,
        # The app sends `Date` from the desk's clock, which the desk_clock fault moves.
        date_header=False,
    )
    _AnnouncingServer(uv_config, url).run(sockets=[sock])
