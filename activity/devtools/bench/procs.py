"""The benchmark's processes: starting, waiting for, asking and stopping its own children."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp

from activity.devtools.bench.load import process_cpu_seconds
from activity.devtools.demo_service import free_socket

READY_SECONDS = 30.0
POLL_SECONDS = 0.25
PROFILE_RATE = 200  # samples per second


def free_port() -> int:
    with free_socket() as sock:
        return int(sock.getsockname()[1])


def _beside_python(name: str) -> str | None:
    """A console script installed with this interpreter (the virtual environment's bin)."""
    script = Path(sys.executable).with_name(name)
    return str(script) if script.exists() else None


def rokt_command() -> list[str]:
    script = _beside_python("rokt-activity")
    return [script] if script else [sys.executable, "-m", "activity"]


class Processes:
    """Subprocesses this run started; each is stopped by its own handle at the end."""

    def __init__(self, workdir: Path, stack: ExitStack) -> None:
        self.workdir = workdir
        self.stack = stack

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = self.stack.enter_context(open(self.workdir / f"{name}.log", "wb"))  # noqa: SIM115
        proc = subprocess.Popen(  # noqa: S603 - our own executables, fixed arguments
            argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        self.stack.callback(stop, proc)
        return proc

    def log_tail(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def wait_ready(http: aiohttp.ClientSession, url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode} before it was ready")
        try:
            async with http.get(url) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} was not ready within {READY_SECONDS:.0f} s")


async def rokt_stats(http: aiohttp.ClientSession, rokt_url: str) -> dict[str, Any]:
    async with http.get(f"{rokt_url}/_bench/stats") as response:
        result: dict[str, Any] = await response.json()
        return result


async def drain(
    http: aiohttp.ClientSession, rokt_url: str, subscriptions: int, limit_seconds: float
) -> tuple[float, dict[str, Any]]:
    """Wait until Rokt holds `subscriptions` distinct IDs; (seconds waited, last stats)."""
    started = time.monotonic()
    while True:
        stats = await rokt_stats(http, rokt_url)
        waited = time.monotonic() - started
        if stats["subscriptions_distinct"] >= subscriptions or waited > limit_seconds:
            return waited, stats
        await asyncio.sleep(POLL_SECONDS)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far, all its threads counted."""
    return process_cpu_seconds(pid)


def tree_cpu_seconds(pid: int) -> float:
    """cpu_seconds of `pid` and of its living children (a supervisor and its workers)."""
    total = cpu_seconds(pid)
    for child in children(pid):
        with contextlib.suppress(OSError):  # a worker that just exited
            total += cpu_seconds(child)
    return total


def children(pid: int) -> list[int]:
    """The living children of `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]  # fields 3 and 4 of proc(5)
        if int(ppid) == pid and state != "Z":  # a dead child not yet waited for is gone
            found.append(int(entry.name))
    return found


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def start_profiler(procs: Processes, pid: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy on `pid`, sampling only the thread that holds the GIL (what limits the rate),
    once it has attached."""
    argv = [_beside_python("py-spy") or "py-spy", "record", "--pid", str(pid)]
    argv += ["--gil", "--nonblocking", "--rate", str(PROFILE_RATE), "--output", str(output)]
    if output.suffix != ".svg":  # collapsed stacks, one line each, to read as text
        argv += ["--format", "raw"]
    # py-spy gets no secrets: only PATH.
    profiler = procs.start("py-spy", argv, {"PATH": os.environ.get("PATH", os.defpath)})
    deadline = time.monotonic() + READY_SECONDS
    while "Sampling process" not in procs.log_tail("py-spy"):
        if profiler.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"py-spy did not start:\n{procs.log_tail('py-spy')}")
        await asyncio.sleep(0.05)
    return profiler


def stop_profiler(procs: Processes, profiler: subprocess.Popen[bytes]) -> None:
    profiler.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
    if profiler.wait(timeout=60) != 0:
        raise RuntimeError(f"py-spy failed:\n{procs.log_tail('py-spy')}")
