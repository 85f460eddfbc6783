"""Group commit for both backends: accepts arriving together share one transaction, so one
fsync (SQLite) or WAL flush (PostgreSQL) covers many contacts."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from activity.errors import StorageUnavailable
from activity.frozen import quick_init
from activity.storage.models import Answer, NewItem

Key = tuple[str, str]
Result = tuple[Answer, bool]
MAX_BATCH = 256  # accepts per transaction
# After a transaction, the next one starts this many steps of the loop later, not at once.
# The first step answers the contacts just committed; in the next ones the requests whose
# bytes the loop has already read reach the queue and join the next transaction instead of
# starting a new one. Each step costs microseconds on a loop with nothing else to do; under
# load it makes the transactions about twice as large and the CPU per contact 15% smaller
# (docs/performance.md).
STEPS_BETWEEN_TRANSACTIONS = 3


@quick_init
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
# The outcome of one transaction: a result per job, or why it failed.
Outcome = list[Result] | BaseException
# Starts one transaction and returns at once; `done(outcome)` is then called on the loop.
StartBatch = Callable[[Sequence[AcceptJob], Callable[[Outcome], None]], None]
Waiter = tuple[AcceptJob, "asyncio.Future[Result]"]


def _never(_: BaseException) -> bool:
    return False


class GroupCommit:
    """Runs one transaction (one result per job) at a time for whatever is waiting.

    The backend either awaits its transaction (`commit`, PostgreSQL) or starts it in its own
    thread and reports back (`start`, SQLite). With `start`, the thread's report answers each
    waiting contact in that step of the loop: no task stands between a commit and its
    contacts. The next transaction starts STEPS_BETWEEN_TRANSACTIONS steps later, with what
    has arrived meanwhile; a contact that finds nothing in flight starts one at the end of
    its own step.

    When a transaction of several jobs fails, each job is retried alone, so one contact whose
    data the database refuses (a string it cannot encode, a value out of range, any error
    nobody foresaw) fails alone and never takes its neighbours down. Only `systemic(exc)`
    errors, which say the database itself cannot write (unreachable, disk full, read-only,
    closing), fail the whole batch at once: retrying job by job would only repeat them.
    """

    def __init__(
        self,
        commit: CommitBatch | None = None,
        *,
        start: StartBatch | None = None,
        systemic: Callable[[BaseException], bool] = _never,
        name: str = "group-commit",
    ) -> None:
        if (commit is None) == (start is None):
            raise TypeError("GroupCommit needs exactly one of commit and start")
        self._commit_batch = commit
        self._start = start or self._start_task
        self._systemic = systemic
        self._name = name
        self._loop = asyncio.get_running_loop()
        self._pending: list[Waiter] = []
        self._alone: deque[Waiter] = deque()  # a failed batch's jobs, each retried alone
        self._in_flight: list[Waiter] | None = None
        self._tasks: set[asyncio.Task[list[Result]]] = set()
        self._kick_scheduled = False
        self._closing = False
        self._stopped = False
        self._idle = asyncio.Event()
        self._idle.set()

    async def submit(self, job: AcceptJob) -> Result:
        if self._closing:
            raise StorageUnavailable("database is closing")
        fut: asyncio.Future[Result] = self._loop.create_future()
        self._pending.append((job, fut))
        self._schedule_kick()
        return await fut

    async def stop(self, grace: float) -> None:
        """Commit what is already waiting (for up to `grace` seconds), refuse the rest."""
        self._closing = True
        if self._in_flight is not None or self._pending or self._alone:
            self._idle.clear()
            self._schedule_kick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), grace)
        self._stopped = True
        for task in list(self._tasks):
            task.cancel()
        error = StorageUnavailable("database is closing")
        _fail(self._in_flight or [], error)
        _fail(self._pending, error)
        _fail(self._alone, error)
        self._in_flight, self._pending = None, []
        self._alone.clear()
        self._idle.set()

    def _schedule_kick(self) -> None:
        """Start a transaction at the end of this step of the loop (so contacts arriving
        together share it), unless one is running or about to: its end starts the next."""
        if self._in_flight is None and not self._kick_scheduled:
            self._kick_scheduled = True
            self._loop.call_soon(self._kick)

    def _kick(self) -> None:
        self._kick_scheduled = False
        if self._in_flight is not None or self._stopped:
            return
        if self._alone:
            batch = [self._alone.popleft()]
        elif self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        else:
            self._idle.set()
            return
        self._in_flight = batch
        try:
            self._start([job for job, _ in batch], functools.partial(self._done, batch))
        except Exception as exc:  # e.g. the store closed under it: answered next step
            self._loop.call_soon(self._done, batch, exc)

    def _done(self, batch: list[Waiter], outcome: Outcome) -> None:
        if self._in_flight is not batch:  # stop() already answered these
            return
        self._in_flight = None
        if isinstance(outcome, BaseException):
            self._failed(batch, outcome)
        elif len(outcome) != len(batch):
            _fail(batch, StorageUnavailable(f"{len(outcome)} results for {len(batch)} jobs"))
        else:
            for (_, fut), result in zip(batch, outcome, strict=True):
                if not fut.done():
                    fut.set_result(result)
        self._kick_scheduled = True
        self._kick_after(STEPS_BETWEEN_TRANSACTIONS)

    def _kick_after(self, steps: int) -> None:
        if steps > 0 and not self._closing and len(self._pending) < MAX_BATCH:
            self._loop.call_soon(self._kick_after, steps - 1)
        else:
            self._kick()

    def _failed(self, batch: list[Waiter], exc: BaseException) -> None:
        # A StorageUnavailable without a cause is the store refusing (closed, closing).
        cause = exc.__cause__ if isinstance(exc, StorageUnavailable) else exc
        if (
            len(batch) > 1
            and cause is not None
            and not isinstance(cause, asyncio.CancelledError)
            and not self._systemic(cause)
        ):
            self._alone.extend(batch)
            return
        error = (
            exc
            if isinstance(exc, StorageUnavailable)
            else StorageUnavailable(f"could not commit: {exc}")
        )
        _fail(batch, error)

    def _start_task(self, jobs: Sequence[AcceptJob], done: Callable[[Outcome], None]) -> None:
        assert self._commit_batch is not None
        task = asyncio.ensure_future(self._commit_batch(jobs))
        task.set_name(self._name)
        self._tasks.add(task)

        def finished(task: asyncio.Task[list[Result]]) -> None:
            self._tasks.discard(task)
            if task.cancelled():
                done(StorageUnavailable("database is closing"))
            else:
                done(task.exception() or task.result())

        task.add_done_callback(finished)


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


def _fail(waiters: Iterable[Waiter], error: BaseException) -> None:
    for _, fut in waiters:
        if not fut.done():
            fut.set_exception(error)
