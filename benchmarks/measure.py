"""Run a contender as a process tree of its own, and measure what the tree costs.

Time from start to exit, the peak resident memory of the whole tree, and the CPU time
other processes used meanwhile; the method, and why neither psutil nor `ru_maxrss`, is
told in `benchmarks.pipeline`. The floor and bare dlt, which run in a process of their own,
report through `run_as_child`: this module stays standard library for them.
"""

import argparse
import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SAMPLE_SECONDS = 0.2


@dataclass
class Measured:
    """What the harness observed of one contender's process tree."""

    wall_s: float
    returncode: int
    peak_rss_mb: float
    hwm_sum_mb: float
    process_peaks: list[dict[str, Any]]
    killed: str | None  # why the harness killed the tree, if it did
    cpu_s: float  # user + system seconds of the tree's reaped processes
    other_cpu_s: float  # CPU seconds used meanwhile by processes outside the measurement


def _children_by_parent() -> dict[int, list[int]]:
    """Map every process to its children, from one pass over /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_bytes()
        except OSError:  # exited between the listing and the read
            continue
        # The command name may hold spaces and parentheses: fields resume after the last ")".
        ppid = int(stat[stat.rfind(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _command(pid: int) -> str:
    """A process's command line, so the JSON says which process peaked."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def _tree(root: int) -> list[tuple[int, int]]:
    """(pid, parent pid) of the root and all its descendants."""
    children = _children_by_parent()
    tree, todo = [], [(root, 0)]
    while todo:
        pid, parent = todo.pop()
        tree.append((pid, parent))
        todo.extend((child, pid) for child in children.get(pid, ()))
    return tree


def memory_kb(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) in kB; None for a process gone or already a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values = {}
    for line in status.splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            values[line[:5]] = int(line.split()[1])
    if len(values) < 2:
        return None
    return values["VmRSS"], values["VmHWM"]


class TreeSampler(threading.Thread):
    """Sample a process tree's memory until stopped; kill the tree past its deadline."""

    def __init__(self, root: int, timeout: float, rss_limit_mb: float) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.rss_limit_kb = rss_limit_mb * 1024
        self.stopped = threading.Event()
        self.peak_kb = 0
        self.hwm_kb: dict[int, int] = {}
        self.commands: dict[int, str] = {}
        self.killed: str | None = None

    def run(self) -> None:
        """Sample, then wait one interval, until the contender's root process is reaped."""
        while True:
            total = self.sample()
            if self.killed is None:
                if time.monotonic() > self.deadline:
                    self.kill(f"timed out after {self.timeout:g} s")
                elif total > self.rss_limit_kb:
                    self.kill(f"its RSS reached {total / 1024:,.0f} MB, over the limit")
            if self.stopped.wait(SAMPLE_SECONDS):
                return

    def kill(self, reason: str) -> None:
        """Kill the whole tree: the contender leads its own session, so its group is it."""
        self.killed = f"{reason}; the harness killed it"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.root, signal.SIGKILL)

    def sample(self) -> int:
        """Add up the resident memory (kB) of every process in the tree right now.

        A child caught between `fork` (or `vfork`) and `exec` still shows its parent's
        command line and counts its parent's pages as its own resident set, which would
        add the parent twice; such a child is skipped until it has exec'd. A fork that
        never execs (a fork-based worker pool) would be skipped too: none of the
        contenders starts one (Dagster spawns its step process, dlt normalizes in-process).
        """
        tree = _tree(self.root)
        commands = {pid: _command(pid) for pid, _ in tree}
        total = 0
        for pid, parent in tree:
            if parent and commands[pid] == commands.get(parent):
                continue
            memory = memory_kb(pid)
            if memory is None:
                continue
            rss, hwm = memory
            total += rss
            self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), hwm)
            self.commands[pid] = commands[pid][:160]
        self.peak_kb = max(self.peak_kb, total)
        return total


_TICKS = os.sysconf("SC_CLK_TCK")


def _busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, /proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICKS


def _process_cpu_s(pid: int | None) -> float:
    """CPU seconds one process has used (user + system), 0 when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except (OSError, TypeError):
        return 0.0
    fields = stat[stat.rfind(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def run_measured(
    command: list[str],
    env: Mapping[str, str],
    cwd: Path,
    log: Path,
    timeout: float,
    rss_limit_mb: float,
    server_pid: int | None = None,
) -> Measured:
    """Run one contender as its own session; time it exactly and sample its memory.

    The main thread blocks in `wait4`, so the wall time is not rounded to the sampling
    interval. `wait4`'s CPU times (the tree's reaped processes included) against the
    machine's busy time tell how much CPU went to processes that are neither the
    contender, the sandbox (`server_pid`) nor the harness: other work on a 2-core machine
    skews the numbers, and the report should say so rather than hide it.
    """
    busy_before, server_before = _busy_cpu_s(), _process_cpu_s(server_pid)
    harness_before = time.process_time()
    with log.open("wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        sampler = TreeSampler(process.pid, timeout, rss_limit_mb)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        sampler.stopped.set()
        sampler.join()
    tree_cpu = usage.ru_utime + usage.ru_stime
    others = (
        _busy_cpu_s()
        - busy_before
        - tree_cpu
        - (_process_cpu_s(server_pid) - server_before)
        - (time.process_time() - harness_before)
    )
    peaks = sorted(sampler.hwm_kb.items(), key=lambda item: -item[1])
    return Measured(
        wall_s=wall,
        returncode=process.returncode,
        peak_rss_mb=sampler.peak_kb / 1024,
        hwm_sum_mb=sum(sampler.hwm_kb.values()) / 1024,
        process_peaks=[
            {"pid": pid, "hwm_mb": round(kb / 1024, 1), "command": sampler.commands.get(pid, "?")}
            for pid, kb in peaks
        ],
        killed=sampler.killed,
        cpu_s=tree_cpu,
        other_cpu_s=max(0.0, others),
    )


def peak_mb(pid: int | None) -> float | None:
    """A process's own high-water mark of resident memory (VmHWM); None when it is gone."""
    memory = memory_kb(pid) if pid is not None else None
    return memory[1] / 1024 if memory else None


def default_rss_limit_mb() -> float:
    """80% of the machine's memory: a contender past it would soon meet the OOM killer."""
    meminfo = Path("/proc/meminfo").read_text().split()
    return int(meminfo[meminfo.index("MemTotal:") + 1]) / 1024 * 0.8


def run_as_child(contender: Callable[[Mapping[str, str]], dict[str, Any]]) -> None:
    """Run an in-process contender in this process, and leave its result where `--result` says.

    The result carries the process's own VmHWM at the end: for one process that is exact,
    where the harness's 0.2 s samples may miss the top of a short run.
    """
    parser = argparse.ArgumentParser(description=contender.__doc__)
    parser.add_argument("--result", required=True, help="where the result JSON goes")
    args = parser.parse_args()
    result = contender(os.environ)
    peak = peak_mb(os.getpid()) or 0.0
    Path(args.result).write_text(json.dumps({**result, "peak_rss_mb": peak}))
