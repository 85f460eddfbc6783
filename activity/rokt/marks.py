"""Writes "this call may reach Rokt" marks (outbox.maybe_sent_at) before calls, coalesced.

Every Rokt call first commits its items' mark, so a crash or a lost answer leaves it behind
(docs/rokt.md). With several calls starting together (contact-scoped events are a call per
contact), the marks asked for while one UPDATE runs go out together in the next, the way
group commit works: each caller still returns only once its own mark is on disk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from activity.storage.base import Store


class MarkWriter:
    def __init__(self, store: Store, owner: str | None, clock: Callable[[], float]) -> None:
        self._store = store
        self._owner = owner
        self._clock = clock
        self._pending: list[int] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._flushing: asyncio.Task[None] | None = None
        self.writes = 0  # UPDATEs issued, for tests

    async def mark(self, ids: Sequence[int]) -> None:
        """Returns once `ids` are marked as possibly sent, now."""
        if not ids:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.extend(ids)
        self._waiters.append(done)
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        try:
            while self._pending:
                ids, waiters = self._pending, self._waiters
                self._pending, self._waiters = [], []
                try:
                    self.writes += 1
                    await self._store.mark_maybe_sent(ids, self._clock(), owner=self._owner)
                except Exception as exc:
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_exception(exc)
                else:
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_result(None)
        finally:
            self._flushing = None
