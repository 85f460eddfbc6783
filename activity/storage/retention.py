"""Retention: delete finished work older than the retention period, a chunk at a time, so
the database stays the size of a week of traffic instead of growing forever."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from activity.storage.base import Store

CHUNK = 2000  # rows per table per transaction: short locks between executes
INTERVAL_SECONDS = 3600.0

log = logging.getLogger(__name__)


class Pruner:
    def __init__(
        self,
        store: Store,
        retention_seconds: float,
        *,
        interval_seconds: float = INTERVAL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._retention = retention_seconds
        self._interval = interval_seconds
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        before = self._clock() - self._retention
        total = 0
        while True:
            deleted = await self._store.prune(before, CHUNK)
            deleted += await self._store.inbox.prune(before, CHUNK)  # synced webhooks
            total += deleted
            if deleted < CHUNK:
                return total
            await asyncio.sleep(0)  # let waiting executes in between chunks

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="retention")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                deleted = await self.run_once()
                if deleted:
                    log.info("pruned finished work", extra={"count": deleted})
            except Exception:
                log.exception("pruning failed; retrying at the next interval")
            await asyncio.sleep(self._interval)
