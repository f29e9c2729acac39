"""Command line: `python -m support_assets.sandbox --help`."""

import argparse

from support_assets.sandbox.faults import FaultError, parse_cli
from support_assets.sandbox.params import parse_rfc3339
from support_assets.sandbox.state import Config
from support_assets.sandbox.vendors import GENERIC, VENDORS


def _faults(text: str) -> tuple[dict, ...]:
    try:
        return tuple(parse_cli(text))
    except FaultError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _per_minute(text: str) -> int:
    """`600/min` (or a bare `600`): the budget's requests per minute."""
    number = text.strip().removesuffix("/min")
    if not number.isdigit() or int(number) < 1:
        raise argparse.ArgumentTypeError(f"expected a rate such as 600/min, got {text!r}")
    return int(number)


def _network_faults(args: argparse.Namespace) -> tuple[dict, ...]:
    """`--latency-ms` and `--rate-limit` as the fault profiles they stand for."""
    specs: list[dict] = []
    if args.latency_ms is not None:
        specs.append(
            {"name": "latency", "ms": args.latency_ms, "jitter_ms": args.latency_jitter_ms}
        )
    if args.rate_limit is not None:
        advertised = 0 if args.rate_limit_hidden else 1
        specs.append(
            {"name": "rate_budget", "per_minute": args.rate_limit, "advertised": advertised}
        )
    return tuple(specs)


def _anchor(text: str) -> str:
    try:
        parse_rfc3339(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 timestamp: {text!r}") from None
    return text


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    defaults = Config()
    parser = argparse.ArgumentParser(
        prog="python -m support_assets.sandbox",
        description="Serve the reference Support API on loopback, with seeded data and faults.",
        epilog="Faults: name[:key=value...][,name...], e.g. rate_limit:ratio=0.5,slow:delay=0.2."
        " Names: rate_limit, server_errors, token_revoke, token_early_expiry, live_updates,"
        " schema_drift, malformed_page, missing_data_key, missing_id, slow, no_access_token,"
        " outage, desk_clock, latency, rate_budget.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--tickets", type=int, default=defaults.tickets)
    parser.add_argument("--comments", type=int, default=defaults.comments)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--client-id", default=defaults.client_id)
    parser.add_argument("--client-secret", default=defaults.client_secret)
    parser.add_argument("--token-ttl", type=int, default=defaults.token_ttl, metavar="SECONDS")
    parser.add_argument("--faults", type=_faults, default=(), metavar="PROFILE[,PROFILE...]")
    parser.add_argument(
        "--vendor",
        choices=[GENERIC, *VENDORS],
        default=defaults.vendor,
        help="serve a real desk's API shape instead of the reference contract",
    )
    parser.add_argument(
        "--anchor", type=_anchor, default=None, help="newest data timestamp (default: now)"
    )
    network = parser.add_argument_group(
        "a desk over a network (the latency and rate_budget faults)"
    )
    network.add_argument(
        "--latency-ms", type=float, default=None, help="hold every API request this long"
    )
    network.add_argument(
        "--latency-jitter-ms", type=float, default=0.0, help="give or take up to this much"
    )
    network.add_argument(
        "--rate-limit",
        type=_per_minute,
        default=None,
        metavar="N/min",
        help="a budget of N requests a minute: over it, 429 with Retry-After",
    )
    network.add_argument(
        "--rate-limit-hidden",
        action="store_true",
        help="enforce the budget without advertising it in headers",
    )
    args = parser.parse_args(argv)
    if args.rate_limit_hidden and args.rate_limit is None:
        parser.error("--rate-limit-hidden needs --rate-limit N/min")
    try:
        network_faults = tuple(parse_cli(",".join(_cli(spec) for spec in _network_faults(args))))
    except FaultError as exc:
        parser.error(str(exc))
    config = Config(
        tickets=args.tickets,
        comments=args.comments,
        seed=args.seed,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_ttl=args.token_ttl,
        anchor=args.anchor,
        faults=(*args.faults, *network_faults),
        vendor=args.vendor,
    )
    try:
        config.validated()
    except ValueError as exc:
        parser.error(str(exc))
    from support_assets.sandbox.server import serve  # uvicorn only once the arguments are good

    serve(config, host=args.host, port=args.port)


def _cli(spec: dict) -> str:
    params = ":".join(f"{key}={value}" for key, value in spec.items() if key != "name")
    return f"{spec['name']}:{params}"


if __name__ == "__main__":
    main()
