"""Webhook accepts arriving together share one transaction (one fsync on SQLite), like the
outbox's group commit. The first caller starts a drain task that commits whatever waits, in
batches, until nothing does; no task lingers between bursts.

If a batch fails, each webhook is tried alone, so one the database refuses fails alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from activity.errors import StorageUnavailable

J = TypeVar("J")
R = TypeVar("R")
MAX_BATCH = 256


class Batched(Generic[J, R]):
    def __init__(self, commit: Callable[[Sequence[J]], Awaitable[list[R]]]) -> None:
        self._commit = commit
        self._pending: list[tuple[J, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, job: J) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((job, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="inbox-accepts")
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            await self._run(batch)

    async def _run(self, batch: list[tuple[J, asyncio.Future[R]]]) -> None:
        try:
            results = await self._commit([job for job, _ in batch])
        except Exception as exc:  # every waiter must hear about it
            if len(batch) > 1:
                for one in batch:
                    await self._run([one])
                return
            error = exc if isinstance(exc, StorageUnavailable) else StorageUnavailable(str(exc))
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
