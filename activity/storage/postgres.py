"""PostgreSQL store: an asyncpg pool, shared safely by several service instances.

The database URL may carry pool settings of ours, which are removed before asyncpg sees it:
`pool_min` (default 2), `pool_max` (default 10) and `command_timeout` (seconds, default 30;
also the longest wait for a free connection), e.g. `postgresql://h/db?pool_max=20`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg

from activity.errors import StorageUnavailable
from activity.storage import postgres_queries as sql
from activity.storage import rows
from activity.storage.group_commit import AcceptJob, GroupCommit, GroupCommitAccept, Result
from activity.storage.inbox import Inbox
from activity.storage.models import (
    Answer,
    LifecycleCall,
    LifecycleRecord,
    OutboxItem,
)
from activity.storage.postgres_accept import accept_batch
from activity.storage.postgres_inbox import PostgresInbox
from activity.storage.postgres_operations import (
    PRUNE_STATS,
    PostgresOperationsMixin,
    count_retries,
)
from activity.storage.postgres_outbox_views import PostgresOutboxViewsMixin
from activity.storage.postgres_settings import PostgresSettingsMixin
from activity.storage.postgres_setup import DB_ERRORS, JOB_ERRORS, migrate, pool_options
from activity.storage.postgres_sso import PostgresSsoMixin

CLOSE_GRACE_SECONDS = 10.0


class PostgresStore(
    GroupCommitAccept,
    PostgresSettingsMixin,
    PostgresOutboxViewsMixin,
    PostgresSsoMixin,
    PostgresOperationsMixin,
):
    """The Store contract on PostgreSQL; groups of methods live in their own modules (mixins)."""

    def __init__(
        self,
        database_url: str,
        *,
        min_size: int | None = None,
        max_size: int | None = None,
        command_timeout: float | None = None,
    ) -> None:
        self.options = pool_options(
            database_url, min_size=min_size, max_size=max_size, command_timeout=command_timeout
        )
        self.applied_migrations: list[int] = []  # what this open() applied; others may have
        self._pool: Any = None
        self._commits: GroupCommit | None = None
        self.inbox: Inbox = PostgresInbox(self._connection, self._tx)

    # --- plumbing -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        if self._pool is None:
            raise StorageUnavailable("database is not open")
        try:
            async with self._pool.acquire(timeout=self.options.command_timeout) as conn:
                yield conn
        except DB_ERRORS as exc:
            raise StorageUnavailable(f"database error: {exc}") from exc

    @contextlib.asynccontextmanager
    async def _tx(self) -> AsyncIterator[Any]:
        async with self._connection() as conn, conn.transaction():
            yield conn

    async def _fetch(self, query: str, *args: Any) -> list[Any]:
        async with self._connection() as conn:
            return list(await conn.fetch(query, *args))

    async def _execute(self, query: str, *args: Any) -> None:
        async with self._connection() as conn:
            await conn.execute(query, *args)

    # --- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        o = self.options
        try:
            self._pool = await asyncpg.create_pool(
                o.dsn, min_size=o.min_size, max_size=o.max_size, command_timeout=o.command_timeout
            )
        except DB_ERRORS as exc:
            raise StorageUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
        try:
            async with self._connection() as conn:
                self.applied_migrations = await migrate(conn)
        except BaseException:
            pool, self._pool = self._pool, None
            pool.terminate()
            raise
        self._commits = GroupCommit(
            self._accept_batch,
            systemic=lambda exc: isinstance(exc, DB_ERRORS) and not isinstance(exc, JOB_ERRORS),
            name="postgres-group-commit",
        )

    async def _accept_batch(self, jobs: Sequence[AcceptJob]) -> list[Result]:
        async with self._tx() as conn:
            return await accept_batch(conn, jobs)

    async def close(self) -> None:
        if self._commits is not None:
            commits, self._commits = self._commits, None
            await commits.stop(CLOSE_GRACE_SECONDS)
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), CLOSE_GRACE_SECONDS)
            except TimeoutError:
                pool.terminate()

    async def ping(self) -> None:
        await self._fetch("SELECT 1")

    async def probe_write(self, now: float) -> None:
        await self._execute(
            "INSERT INTO readiness_probe (id, at) VALUES (1, $1) "
            "ON CONFLICT (id) DO UPDATE SET at = excluded.at",
            now,
        )

    # --- lifecycle records ----------------------------------------------------------------

    async def record_lifecycle(self, call: LifecycleCall) -> None:
        c = call
        await self._execute(
            sql.UPSERT_LIFECYCLE, c.route, c.activity_object_id, c.interaction_id,
            c.original_definition_id, c.interaction_key, c.interaction_version, c.at,
        )  # fmt: skip

    async def list_lifecycle(self, limit: int = 200) -> list[LifecycleRecord]:
        found = await self._fetch(
            "SELECT * FROM lifecycle_calls ORDER BY last_seen DESC LIMIT $1", limit
        )
        return [rows.lifecycle_from_row(r) for r in found]

    # --- execute: accept is GroupCommitAccept's --------------------------------------------

    # --- outbox ---------------------------------------------------------------------------

    async def find_answer(self, activity_id: str, definition_instance_id: str) -> Answer | None:
        found = await self._fetch(
            "SELECT status, body FROM executions WHERE activity_id = $1 AND "
            "definition_instance_id = $2",
            activity_id,
            definition_instance_id,
        )
        return Answer(int(found[0]["status"]), json.loads(found[0]["body"])) if found else None

    async def claim(
        self, owner: str, now: float, lease_seconds: float, limit: int
    ) -> list[OutboxItem]:
        found = await self._fetch(sql.CLAIM, owner, now, lease_seconds, limit)
        return rows.items_from_rows(found)

    async def _update(
        self,
        query: str,
        ids: Sequence[int],
        owner: str | None,
        *args: Any,
        retry_at: float | None = None,
    ) -> None:
        """With `owner`, only rows still leased by it change: a worker whose lease ran out
        (and whose items another instance took over) cannot overwrite the newer outcome.
        With `retry_at`, the changed rows are also counted as retries at that time."""
        if not ids:
            return
        keys: tuple[Any, ...] = (list(ids),) if owner is None else (list(ids), owner)

        def where(first: int) -> str:
            found = f" WHERE id = ANY(${first}::bigint[])"
            return found if owner is None else f"{found}{sql.OWNER_GUARD}{first + 1}"

        if retry_at is None:
            await self._execute(query + where(len(args) + 1), *args, *keys)
            return
        async with self._tx() as conn:
            await count_retries(conn, where(2), keys, retry_at)
            await conn.execute(query + where(len(args) + 1), *args, *keys)

    async def mark_sent(
        self, ids: Sequence[int], now: float, *, owner: str | None = None, note: str = ""
    ) -> None:
        await self._update(sql.MARK_SENT, ids, owner, now, note)

    async def mark_maybe_sent(
        self, ids: Sequence[int], at: float | None, *, owner: str | None = None
    ) -> None:
        await self._update(sql.MARK_MAYBE_SENT, ids, owner, at)

    async def mark_retry(
        self,
        ids: Sequence[int],
        now: float,
        next_attempt_at: float,
        error: str,
        *,
        owner: str | None = None,
    ) -> None:
        await self._update(sql.MARK_RETRY, ids, owner, next_attempt_at, error, now, retry_at=now)

    async def mark_dead(
        self, ids: Sequence[int], now: float, error: str, *, owner: str | None = None
    ) -> None:
        await self._update(sql.MARK_DEAD, ids, owner, error, now)

    async def give_back(
        self, ids: Sequence[int], now: float, why: str, *, owner: str | None = None
    ) -> None:
        await self._update(sql.GIVE_BACK, ids, owner, now, why)

    async def release(self, owner: str) -> None:
        await self._execute(sql.RELEASE, owner)

    async def next_due_at(self) -> float | None:
        due = (await self._fetch(sql.NEXT_DUE))[0][0]
        return float(due) if due is not None else None

    async def prune(self, before: float, limit: int) -> int:
        async with self._tx() as conn:
            answers = await conn.execute(sql.PRUNE_EXECUTIONS, before, limit)
            await conn.execute(PRUNE_STATS, before)  # a few rows per business unit and hour
            items = await conn.execute(sql.PRUNE_OUTBOX, before, limit)
        # asyncpg returns the command tag, e.g. "DELETE 42".
        return int(answers.split()[-1]) + int(items.split()[-1])
