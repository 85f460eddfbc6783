"""The loop a worker of a leased queue runs: the delivery worker (outbox -> Rokt) and the sync
worker (inbox -> Marketing Cloud) differ in what one round does, not in how rounds are run.

A round claims a batch with leases and works it (`run_once`). Rounds that found work are
spaced by `round_interval_seconds`, so that work arriving together shares one remote call,
unless a full round shows a backlog, which is drained without pause. Between rounds the
worker sleeps until it is woken (new work here), work falls due, or the next poll (work other
instances left). Starting releases the leases this owner held before a restart, and stopping
releases the ones it holds: either way the work is resumed at once, not after the lease.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from contextlib import suppress


class LeasedWorker(ABC):
    _log = logging.getLogger(__name__)  # each worker names its own module's logger
    task_name = "worker"
    what = "work"  # in log lines: "<what> round failed"
    leases = "leases"  # in log lines: "could not release <leases>; ..."
    # After a quiet spell, the first wake-up starts a round interval: the rest of the burst
    # that woke us is collected into the same round.
    collect_bursts = False

    def __init__(
        self,
        *,
        owner: str,
        batch_size: int,
        poll_seconds: float,
        round_interval_seconds: float,
        stop_grace_seconds: float,
    ) -> None:
        self._owner = owner
        self._batch_size = batch_size
        self._poll = poll_seconds
        self._round_interval = round_interval_seconds
        self._grace = stop_grace_seconds
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @abstractmethod
    async def run_once(self) -> int:
        """Claim one batch and work it; returns how many items were claimed."""

    @abstractmethod
    async def _release(self) -> None:
        """Give back every lease this owner holds."""

    @abstractmethod
    async def _sleep(self, claimed: int) -> bool:
        """Wait for the next round after one that claimed `claimed` items; True if woken."""

    def _error_pause(self) -> float:
        """Seconds to wait after a failed round, unless woken."""
        return 1.0

    async def start(self) -> None:
        if self._task is not None:
            return
        # Leases this owner held before a restart belong to no running task: resume them now.
        await self._release()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wakeup.set()
        _, pending = await asyncio.wait({task}, timeout=self._grace)
        if pending:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        try:
            await self._release()
        except Exception:
            self._log.exception("could not release %s; they expire on their own", self.leases)

    def wake(self) -> None:
        """New work was accepted: work it now instead of at the next poll."""
        self._wakeup.set()

    async def _run(self) -> None:
        last_round, claimed = float("-inf"), 0
        while not self._stopping:
            gap = self._round_interval - (time.monotonic() - last_round)
            if gap > 0 and claimed < self._batch_size:
                await asyncio.sleep(gap)
                if self._stopping:
                    break
            self._wakeup.clear()
            round_start = time.monotonic()
            try:
                claimed = await self.run_once()
                if claimed:
                    last_round = round_start
                if claimed < self._batch_size and not self._stopping:
                    woken = await self._sleep(claimed)
                    if woken and not claimed and self.collect_bursts:
                        last_round = time.monotonic()
            except Exception:
                self._log.exception("%s round failed", self.what)
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._error_pause())
