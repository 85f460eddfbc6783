"""`rokt-activity serve --workers N`: N server processes on one port and one database.

The supervisor prepares what must exist once (the schema, SQLite's key file), then starts
N copies of `rokt-activity serve --worker-index I`. Each binds the port with SO_REUSEPORT,
so the kernel spreads connections over them, and runs its own delivery worker; they share
the outbox through its leases, each under its own lease owner (`worker_settings`). A worker
that dies is started again (its leases resume at once on SQLite, where its owner name is
fixed, and after they expire on PostgreSQL). SIGTERM or SIGINT to the supervisor stops
every worker gracefully and waits for them. Workers die with the supervisor (a SIGKILLed
supervisor leaves no worker behind, through PR_SET_PDEATHSIG on Linux).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from types import FrameType

from prometheus_client import multiprocess

from activity.config import Settings

log = logging.getLogger("activity.ops.workers")

STOP_SECONDS = 30.0  # a worker that has not stopped by then after SIGTERM is killed
RESTART_PAUSE_SECONDS = 1.0  # before starting again a worker that died soon after it started
QUICK_DEATH_SECONDS = 5.0
POLL_SECONDS = 0.05
_PR_SET_PDEATHSIG = 1


def default_workers() -> int:
    """One per CPU, on either backend. SQLite's workers take turns on its one writer
    (storage/sqlite_writer_lock.py); two on two cores accept about 15% more than one
    (docs/performance.md)."""
    return os.cpu_count() or 1


def worker_settings(settings: Settings, index: int, metrics_dir: str = "") -> Settings:
    """Each worker holds outbox leases under its own name: two holders of one name would
    hand back each other's work. On SQLite the name is fixed, so a restarted worker resumes
    its own leases at once; on PostgreSQL an unnamed worker is host-pid, unique already."""
    settings = replace(settings, metrics_dir=metrics_dir)
    if settings.instance_id:
        return replace(settings, instance_id=f"{settings.instance_id}-w{index}")
    if settings.sqlite_path is not None:
        return replace(settings, instance_id=f"local-w{index}")
    return settings


def _die_with_parent(parent: int) -> Callable[[], None]:
    def arm() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # not Linux: workers outlive a killed supervisor
            return
        if os.getppid() != parent:  # the supervisor died before the line above
            os._exit(1)

    return arm


METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client reads it at import


class Supervisor:
    def __init__(self, argv: Sequence[str], workers: int, metrics_dir: str) -> None:
        self.argv = list(argv)  # the worker's command line, without --worker-index
        self.count = workers
        self.metrics_dir = metrics_dir
        self.env = {**os.environ, METRICS_DIR_ENV: metrics_dir}
        self.workers: dict[int, tuple[int, subprocess.Popen[bytes], float]] = {}  # pid ->
        self.stopping = False

    def _start(self, index: int) -> None:
        proc = subprocess.Popen(  # noqa: S603 - our own command line
            [*self.argv, "--worker-index", str(index)],
            env=self.env,
            preexec_fn=_die_with_parent(os.getpid()),  # the supervisor runs no threads
            process_group=0,  # Ctrl-C reaches the supervisor only; it stops the workers once
        )
        self.workers[proc.pid] = (index, proc, time.monotonic())

    def _on_signal(self, signum: int, _: FrameType | None) -> None:
        if not self.stopping:
            log.info("stopping %d workers", len(self.workers), extra={"signal": signum})
        self.stopping = True
        for _index, proc, _started in self.workers.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        for index in range(self.count):
            self._start(index)
        deadline: float | None = None
        while self.workers:
            if self.stopping and deadline is None:
                deadline = time.monotonic() + STOP_SECONDS
            pid, status = self._wait(deadline)
            if pid == 0:  # workers still running past the deadline
                for _index, proc, _started in self.workers.values():
                    proc.kill()
                deadline = time.monotonic() + STOP_SECONDS
                continue
            index, proc, started = self.workers.pop(pid)
            proc.returncode = os.waitstatus_to_exitcode(status)
            # Its counters stay (totals never go back); its live gauges go.
            multiprocess.mark_process_dead(pid, self.metrics_dir)  # type: ignore[no-untyped-call]
            if self.stopping:
                continue
            log.warning(
                "worker %d exited (%s); starting it again",
                index,
                proc.returncode,
                extra={"worker": index, "exit_code": proc.returncode},
            )
            if time.monotonic() - started < QUICK_DEATH_SECONDS:
                time.sleep(RESTART_PAUSE_SECONDS)
            if not self.stopping:
                self._start(index)
        return 0

    def _wait(self, deadline: float | None) -> tuple[int, int]:
        """The next worker to exit, (0, 0) when the deadline passed first."""
        while True:  # polled: a signal must be able to set a deadline while we wait
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid or (deadline is not None and time.monotonic() > deadline):
                return pid, status
            time.sleep(POLL_SECONDS)


def worker_command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "activity", "serve", "--host", host, "--port", str(port)]
