"""Group commit for both backends: accepts arriving together share one transaction, so one
fsync (SQLite) or WAL flush (PostgreSQL) covers many contacts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from activity.errors import StorageUnavailable
from activity.storage.models import Answer, NewItem

Key = tuple[str, str]
Result = tuple[Answer, bool]
MAX_BATCH = 256  # accepts per transaction


@dataclass(frozen=True)
class AcceptJob:
    activity_id: str
    definition_instance_id: str
    answer: Answer
    items: Sequence[NewItem]
    now: float
    # The business unit the answer was given for (None: the call named none usable).
    mid: str | None = None

    @property
    def key(self) -> Key:
        return (self.activity_id, self.definition_instance_id)


CommitBatch = Callable[[Sequence[AcceptJob]], Awaitable[list[Result]]]
Waiter = tuple[AcceptJob, "asyncio.Future[Result]"]


def _never(_: BaseException) -> bool:
    return False


class GroupCommit:
    """Runs `commit(jobs)` (one transaction, one result per job) for whatever is waiting.

    When a transaction of several jobs fails, each job is retried alone, so one contact whose
    data the database refuses (a string it cannot encode, a value out of range, any error
    nobody foresaw) fails alone and never takes its neighbours down. Only `systemic(exc)`
    errors, which say the database itself cannot write (unreachable, disk full, read-only,
    closing), fail the whole batch at once: retrying job by job would only repeat them.
    """

    def __init__(
        self,
        commit: CommitBatch,
        *,
        systemic: Callable[[BaseException], bool] = _never,
        name: str = "group-commit",
    ) -> None:
        self._commit_batch = commit
        self._systemic = systemic
        self._pending: list[Waiter] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._loop(), name=name)

    async def submit(self, job: AcceptJob) -> Result:
        if self._closing:
            raise StorageUnavailable("database is closing")
        fut: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((job, fut))
        self._wakeup.set()
        return await fut

    async def stop(self, grace: float) -> None:
        """Commit what is already waiting (for up to `grace` seconds), refuse the rest."""
        self._closing = True
        self._wakeup.set()
        done, _ = await asyncio.wait({self._task}, timeout=grace)
        if not done:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        _fail(self._pending, StorageUnavailable("database is closing"))
        self._pending = []

    async def _loop(self) -> None:
        while not (self._closing and not self._pending):
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._commit(batch)

    async def _commit(self, batch: list[Waiter]) -> None:
        try:
            results = await self._commit_batch([job for job, _ in batch])
        except asyncio.CancelledError:
            _fail(batch, StorageUnavailable("database is closing"))
            raise
        except Exception as exc:  # every waiter must hear about it
            # A StorageUnavailable without a cause is the store refusing (closed, closing).
            cause = exc.__cause__ if isinstance(exc, StorageUnavailable) else exc
            if len(batch) > 1 and cause is not None and not self._systemic(cause):
                for waiter in batch:
                    await self._commit([waiter])
            else:
                error = (
                    exc
                    if isinstance(exc, StorageUnavailable)
                    else StorageUnavailable(f"could not commit: {exc}")
                )
                _fail(batch, error)
            return
        for (_, fut), result in zip(batch, results, strict=True):
            if not fut.done():
                fut.set_result(result)


class GroupCommitAccept:
    """Store.accept for either backend: the job is queued on the open store's group commit
    (`_commits`, None while the store is closed)."""

    _commits: GroupCommit | None

    async def accept(
        self,
        activity_id: str,
        definition_instance_id: str,
        answer: Answer,
        items: Sequence[NewItem],
        now: float,
        *,
        mid: str | None = None,
    ) -> Result:
        if self._commits is None:
            raise StorageUnavailable("database is not open")
        job = AcceptJob(activity_id, definition_instance_id, answer, tuple(items), now, mid)
        return await self._commits.submit(job)


def _fail(waiters: Sequence[Waiter], error: BaseException) -> None:
    for _, fut in waiters:
        if not fut.done():
            fut.set_exception(error)
