"""Benchmark the pipeline against the download floor and bare dlt, on one sandbox, in one session.

    python -m benchmarks.pipeline                 # 100,000 tickets + 500,000 comments, 1 run
    python -m benchmarks.pipeline --scale small   # 10,000 + 50,000, 3 runs
    python -m benchmarks.pipeline --scale medium  # 16,667 + 83,333 (100k records), 1 run
    python -m benchmarks.pipeline --scale tiny --repeat 1 --out /tmp/bench.json
    python -m benchmarks.pipeline --contenders b,d --stand-in   # some, `slow` for latency

Contender (a), the session: six contenders read the same sandbox (limit 100, no faults),
alternated within each repetition so that drift of the machine over the session hits all
of them alike:

1. `floor`: one keep-alive `http.client` connection fetching every page of both
   collections with a token and decoding it with `orjson`, keeping nothing. No loader can
   beat it, so it is the yardstick the targets are stated against.
2. `bare_dlt`: a plain dlt `rest_api` pipeline with the seed's configuration, spelled the
   way dlt 1.31 accepts it, merging into a fresh DuckDB file: the baseline to beat.
3. `full_load`: both support assets through the real `dagster asset materialize` CLI for
   today's partition (the incremental refresh, which starts from SUPPORT_START_DATE on an
   empty warehouse) into a fresh DuckDB file. `--select '*'` runs whatever the code
   location defines on them, asset checks included, as a user's command would.
4. `incremental_unchanged`: the same command again on the same file, nothing changed.
4b. `bare_refresh`: the same dlt run as 4, idle too, in a bare Python process (no Dagster).
5. `incremental_1pct`: the same again after 1% of tickets and of comments were updated.

Then (b) to (d) (`benchmarks.contenders`): a full load through the CLI against 100 ms of
latency, an advertised budget of 600 requests a minute, and latency with 429s and 5xx.
A second table sets every one of them, (a) and the idle refresh included, beside its
physical limit (`benchmarks.limits`: the formulas, the scales and why).

Every contender runs as its own process tree (1, 2 and 4b as their own modules, `python -m
benchmarks.floor`, `benchmarks.bare_dlt` and `benchmarks.bare_refresh`), so its peak
memory is its own and not the harness's. Each sandbox repetition after the first starts
from regenerated data (`reset`), so the full loads of every repetition read the same
records.

Reported per contender, as medians over the repetitions:

- wall seconds: process start to exit, as a user waits for it (imports, Dagster's run
  machinery, dlt's normalize and load included); `work s` is the part the contender
  timed itself (the fetch loop, `pipeline.run`, or the asset body's load, read back after
  the CLI exits from the `duration_s` metadata of the materialization it recorded in its
  Dagster instance), so the gap is start-up and orchestration;
- records per second: records the sandbox served, over wall seconds;
- HTTP requests, from the sandbox's own counters (reset before each contender): data
  pages (`GET /v1/*`) and token grants (`POST /oauth/token`) separately;
- peak RSS of the process tree: a sampler thread walks /proc every 0.2 s from the
  contender's root process to all its descendants and sums their `VmRSS`; the peak is the
  largest such sum. Contenders 1 and 2 also report their own `VmHWM` as they finish, which
  replaces the sample when larger (a run shorter than a few intervals). psutil is not in
  the venv. `ru_maxrss` from `wait4` / `RUSAGE_CHILDREN` is not used: it reports the
  largest single process, not the tree, and Linux carries into it the RSS of the process
  that forked the child (the harness, with DuckDB imported) from before the `exec`. The
  JSON also keeps each process's own high-water mark (`VmHWM`, last seen) and their sum,
  an upper bound on the tree's peak.

Each run also records the CPU seconds that processes other than the contender, the
sandbox and the harness used meanwhile (`/proc/stat` against `wait4`'s times): on a shared
2-core machine that is what makes a number noisy, and the report names such runs.

The first table ends with the ratios 3/1 and 3/2 of every column; the same numbers, and
the second table's rows under `limits`, are written as JSON; its path is the last line
printed. A contender whose fault profile the sandbox refuses is skipped with the
sandbox's reason and does not fail the session. A contender that fails or exceeds
`--timeout` or whose tree grows past `--rss-limit-mb` (default: 80% of the machine's
memory, so the kernel's OOM killer never picks the sandbox or the harness instead) is
killed and reported as FAILED with the reason, the others still run, and
the exit status is 1.
"""

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import orjson

from benchmarks.contenders import Outcome, rows_of, run_faulted
from benchmarks.limits import KEYS
from benchmarks.limits import render as render_limits
from benchmarks.measure import default_rss_limit_mb, peak_mb
from benchmarks.report import build_report, code_state, footnotes, render
from benchmarks.session import CONTENDERS, ROOT, Run, Session
from benchmarks.workload import PAGE_SIZE, SCALES
from support_assets.sandbox import SandboxServer

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "latest.json"


def run_session(args: argparse.Namespace) -> int:
    """Start the sandbox, run the chosen contenders, print and save the report.

    (a) is the session of the module docstring, `repeat` times; (b) to (d) follow on the
    same sandbox, once each (see `benchmarks.contenders`).
    """
    scale = SCALES[args.scale]
    repeat = args.repeat or scale.repeat
    timeout = args.timeout or scale.timeout
    rss_limit_mb = args.rss_limit_mb or default_rss_limit_mb()
    workdir = Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    code = code_state()
    runs: dict[str, list[Run]] = {name: [] for name in CONTENDERS}
    updated: list[dict[str, int]] = []
    outcomes: list[Outcome] = []
    print(
        f"pipeline benchmark: {scale.tickets:,} tickets + {scale.comments:,} comments, "
        f"limit {PAGE_SIZE}, contenders {','.join(args.contenders)}, {repeat} repetition(s) "
        f"of (a), {os.cpu_count()} CPUs; work dir {workdir}"
    )
    started = time.monotonic()
    try:
        with SandboxServer(
            tickets=scale.tickets, comments=scale.comments, seed=args.seed
        ) as sandbox:
            print(f"  sandbox ready in {sandbox.ready_seconds:.1f} s at {sandbox.url}")
            if "a" in args.contenders:
                session = Session(sandbox, workdir, timeout, rss_limit_mb)
                for index in range(repeat):
                    if index:
                        sandbox.reset()  # the same records again: every full load reads alike
                    session.updated = {}
                    for name, run in session.repetition(index, scale):
                        runs[name].append(run)
                        _progress(f"rep {index + 1} {name}", run)
                    updated.append(session.updated)
            faulted = run_faulted(
                sandbox, workdir, args.contenders, args.scale, timeout, rss_limit_mb, args.stand_in
            )
            for outcome in faulted:
                outcomes.append(outcome)
                if outcome.run is None:
                    print(f"  ({outcome.key}) {outcome.skipped[:300]}")
                else:
                    _progress(f"({outcome.key}) limit {outcome.limit_s:.1f} s", outcome.run)
            sandbox_mb = peak_mb(sandbox.pid)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    settings = {
        "scale": args.scale,
        "tickets": scale.tickets,
        "comments": scale.comments,
        "page_size": PAGE_SIZE,
        "repeat": repeat,
        "seed": args.seed,
        "contenders": args.contenders,
        "stand_in": args.stand_in,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "session_s": round(time.monotonic() - started, 1),
    }
    session_ran = "a" in args.contenders
    report = build_report(settings, runs, code, sandbox_mb, updated, session_ran)
    medians = {name: entry["median"] for name, entry in report["contenders"].items()}
    report["limits"] = rows_of(medians or None, runs if session_ran else None, outcomes)
    if session_ran:
        print()
        print(render(report))
        for note in footnotes(runs):
            print(note)
    print()
    print(render_limits(report["limits"]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    print(out)
    failed = any(not run.ok for name in CONTENDERS for run in runs[name])
    failed = failed or any(o.run is not None and not o.run.ok for o in outcomes)
    return 1 if failed else 0


def _progress(what: str, run: Run) -> None:
    verdict = "ok" if run.ok else f"FAILED: {(run.error or '')[:200]}"
    print(
        f"  {what:<28} {run.wall_s:8.2f} s {run.get_requests:7,} GET "
        f"{run.peak_rss_mb:8,.0f} MB {run.other_cpu_s:6.1f} s CPU elsewhere  {verdict}"
    )


def _contenders(text: str) -> list[str]:
    keys = [key.strip() for key in text.split(",") if key.strip()]
    unknown = set(keys) - set(KEYS)
    if unknown or not keys:
        raise argparse.ArgumentTypeError(f"choose among {','.join(KEYS)}, got {text!r}")
    return keys


def main() -> None:
    """Parse the command line and run one session; exit 1 when any contender failed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="large", help="default: large")
    parser.add_argument(
        "--repeat",
        type=int,
        default=0,
        help="repetitions (default by scale: large 1, small 3, tiny 3)",
    )
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="where the JSON goes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--timeout", type=float, default=0, help="seconds per contender (default by scale)"
    )
    parser.add_argument(
        "--rss-limit-mb", type=float, default=0, help="kill a contender past this (default 80%%)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, DuckDB)")
    parser.add_argument(
        "--contenders",
        type=_contenders,
        default=list(KEYS),
        help="which of a,b,c,d to run (default: all); a is the five-contender session",
    )
    parser.add_argument(
        "--stand-in",
        action="store_true",
        help="play (b) and (d)'s latency with the sandbox's older `slow` fault",
    )
    sys.exit(run_session(parser.parse_args()))


if __name__ == "__main__":
    main()
