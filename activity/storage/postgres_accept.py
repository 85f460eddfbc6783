"""Idempotent accept for PostgreSQL: many execute calls, one transaction, three statements."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from activity.errors import StorageUnavailable
from activity.storage import rows
from activity.storage.models import QUEUED, Answer, NewItem
from activity.storage.postgres_setup import JOB_ERRORS

Key = tuple[str, str]
Result = tuple[Answer, bool]
MAX_BATCH = 256  # accepts per transaction

INSERT_EXECUTIONS = """
INSERT INTO executions (activity_id, definition_instance_id, status, body, created_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::float8[])
ON CONFLICT DO NOTHING
RETURNING activity_id, definition_instance_id
"""

SELECT_ANSWERS = """
SELECT e.activity_id, e.definition_instance_id, e.status, e.body
FROM executions e
JOIN unnest($1::text[], $2::text[]) AS k (activity_id, definition_instance_id)
  USING (activity_id, definition_instance_id)
"""

_ITEM_COLUMNS = [c.strip() for c in rows.OUTBOX_INSERT_COLUMNS.split(",")]

INSERT_OUTBOX = f"""
INSERT INTO outbox ({rows.OUTBOX_INSERT_COLUMNS}, state, attempts, created_at,
                    next_attempt_at, updated_at)
SELECT {rows.OUTBOX_INSERT_COLUMNS}, '{QUEUED}', 0, at, at, at
FROM unnest({", ".join(f"${n}::text[]" for n in range(1, len(_ITEM_COLUMNS) + 1))},
            ${len(_ITEM_COLUMNS) + 1}::float8[])
  AS u ({rows.OUTBOX_INSERT_COLUMNS}, at)
"""


@dataclass(frozen=True)
class AcceptJob:
    activity_id: str
    definition_instance_id: str
    answer: Answer
    items: Sequence[NewItem]
    now: float

    @property
    def key(self) -> Key:
        return (self.activity_id, self.definition_instance_id)


async def accept_batch(conn: Any, jobs: Sequence[AcceptJob]) -> list[Result]:
    """Accept `jobs` inside the caller's transaction; one result per job, in order.

    A key repeated within the batch behaves as a repeat: the first job wins.
    """
    leader: dict[Key, AcceptJob] = {}
    for job in jobs:
        leader.setdefault(job.key, job)
    # Sorted keys: two instances inserting overlapping batches lock rows in the same order.
    leaders = [leader[key] for key in sorted(leader)]
    inserted: set[Key] = {
        (r["activity_id"], r["definition_instance_id"])
        for r in await conn.fetch(
            INSERT_EXECUTIONS,
            [j.activity_id for j in leaders],
            [j.definition_instance_id for j in leaders],
            [j.answer.status for j in leaders],
            [rows.dump_body(j.answer.body) for j in leaders],
            [j.now for j in leaders],
        )
    }
    answers = {key: job.answer for key, job in leader.items() if key in inserted}
    seen = [job for job in leaders if job.key not in inserted]
    if seen:
        for r in await conn.fetch(
            SELECT_ANSWERS,
            [j.activity_id for j in seen],
            [j.definition_instance_id for j in seen],
        ):
            key = (r["activity_id"], r["definition_instance_id"])
            answers[key] = Answer(int(r["status"]), json.loads(r["body"]))
    if any(key not in answers for key in leader):
        raise StorageUnavailable("an earlier answer vanished while accepting; retry")
    await _insert_items(conn, [j for j in jobs if j.key in inserted and leader[j.key] is j])
    return [(answers[j.key], j.key in inserted and leader[j.key] is j) for j in jobs]


async def _insert_items(conn: Any, jobs: Sequence[AcceptJob]) -> None:
    values = [(*rows.item_values(item), job.now) for job in jobs for item in job.items]
    if values:
        await conn.execute(INSERT_OUTBOX, *(list(column) for column in zip(*values, strict=True)))


Waiter = tuple[AcceptJob, "asyncio.Future[Result]"]


class GroupCommit:
    """Accepts arriving together share one transaction, so one WAL flush covers many contacts."""

    def __init__(self, transaction: Callable[[], AbstractAsyncContextManager[Any]]) -> None:
        self._transaction = transaction
        self._pending: list[Waiter] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._loop(), name="postgres-group-commit")

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
            async with self._transaction() as conn:
                results = await accept_batch(conn, [job for job, _ in batch])
        except asyncio.CancelledError:
            _fail(batch, StorageUnavailable("database is closing"))
            raise
        except Exception as exc:  # every waiter must hear about it
            cause = exc.__cause__ if isinstance(exc, StorageUnavailable) else exc
            if len(batch) > 1 and isinstance(cause, JOB_ERRORS):
                for waiter in batch:  # one bad job must not fail its neighbours
                    await self._commit([waiter])
            else:
                _fail(batch, exc)
            return
        for (_, fut), result in zip(batch, results, strict=True):
            if not fut.done():
                fut.set_result(result)


def _fail(waiters: Sequence[Waiter], error: BaseException) -> None:
    for _, fut in waiters:
        if not fut.done():
            fut.set_exception(error)
