"""SQLite store: WAL mode, concurrent accepts committed together on the writer's connection
and thread; plain reads on a second, read-only connection with a thread of its own.

Reads must not queue behind commits: a session cookie checked on every admin page, /readyz
and the Deliveries page's counts are open to any caller (a cookie is checked before it is
known to be good), and on the writer's thread a flood of them would delay execute's commits.
WAL lets the reader see every committed write without ever blocking the writer."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from activity.errors import StorageUnavailable
from activity.storage import rows, sqlite_accept, sqlite_setup
from activity.storage.group_commit import AcceptJob, GroupCommit, GroupCommitAccept, Result
from activity.storage.inbox import Inbox
from activity.storage.models import (
    SENT,
    Answer,
    LifecycleCall,
    LifecycleRecord,
)
from activity.storage.sqlite_inbox import SQLiteInbox
from activity.storage.sqlite_operations import SQLiteOperationsMixin
from activity.storage.sqlite_outbox import SQLiteOutboxMixin
from activity.storage.sqlite_outbox_views import SQLiteOutboxViewsMixin
from activity.storage.sqlite_settings import SQLiteSettingsMixin
from activity.storage.sqlite_sso import SQLiteSsoMixin
from activity.storage.sqlite_writer_lock import WriterLock

T = TypeVar("T")
CLOSE_GRACE_SECONDS = 10.0  # commit accepts already waiting before the connection closes
PROBE_WRITE = (
    "INSERT INTO readiness_probe (id, at) VALUES (1, ?) "
    "ON CONFLICT (id) DO UPDATE SET at = excluded.at"
)


class SQLiteStore(
    GroupCommitAccept,
    SQLiteSettingsMixin,
    SQLiteOutboxMixin,
    SQLiteOutboxViewsMixin,
    SQLiteSsoMixin,
    SQLiteOperationsMixin,
):
    """The Store contract on SQLite; each group of methods lives in its own module (a mixin)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._reads: ThreadPoolExecutor | None = None
        self._reader: sqlite3.Connection | None = None
        self._commits: GroupCommit | None = None
        self._writer = WriterLock()
        self.inbox: Inbox = SQLiteInbox(self._tx, self._query)

    # --- plumbing -------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise StorageUnavailable("database is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._reads is None or self._reader is None:
            raise StorageUnavailable("database is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reads, fn, self._reader)

    def _connect(self) -> None:
        self._conn = sqlite_setup.connect(self._path)
        sqlite_setup.migrate(self._conn)
        self._writer.close()
        self._writer = WriterLock(self._path)

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageUnavailable("database is closed")
        return self._conn

    def _transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        db = self._db
        with self._writer:
            db.execute("BEGIN IMMEDIATE")
            try:
                result = fn(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

    async def _tx(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return await self._run(self._transaction, fn)
        except sqlite3.Error as exc:
            raise _unavailable(exc) from exc

    async def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        def run(db: sqlite3.Connection) -> list[sqlite3.Row]:
            return list(db.execute(sql, params))

        try:
            return await self._read(run)
        except sqlite3.Error as exc:
            raise _unavailable(exc) from exc

    # --- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        try:
            await self._run(self._connect)
        except (sqlite3.Error, StorageUnavailable) as exc:
            self._executor.shutdown(wait=False)
            self._executor = None
            if isinstance(exc, StorageUnavailable):
                raise
            # e.g. a read-only database file met by the migrations
            raise StorageUnavailable(
                f"cannot use the SQLite database {self._path}: {exc}"
            ) from None
        # Opened once the migrations are in: the reader only ever sees the current schema.
        self._reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-read")
        try:
            self._reader = await asyncio.get_running_loop().run_in_executor(
                self._reads, functools.partial(sqlite_setup.connect, self._path, read_only=True)
            )
        except (sqlite3.Error, StorageUnavailable) as exc:
            await self.close()
            if isinstance(exc, StorageUnavailable):
                raise
            raise StorageUnavailable(
                f"cannot read the SQLite database {self._path}: {exc}"
            ) from None
        self._commits = GroupCommit(
            start=self._start_accepts,
            systemic=sqlite_setup.systemic,
            name="sqlite-group-commit",
        )

    async def close(self) -> None:
        if self._commits is not None:
            commits, self._commits = self._commits, None
            await commits.stop(CLOSE_GRACE_SECONDS)
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await self._run(conn.close)
        self._writer.close()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._reads is not None:
            reads, self._reads = self._reads, None
            if self._reader is not None:
                reader, self._reader = self._reader, None
                await asyncio.get_running_loop().run_in_executor(reads, reader.close)
            reads.shutdown(wait=True)

    async def ping(self) -> None:
        await self._query("SELECT 1")

    async def probe_write(self, now: float) -> None:
        await self._tx(lambda db: db.execute(PROBE_WRITE, (now,)))

    # --- lifecycle records ----------------------------------------------------------------

    async def record_lifecycle(self, call: LifecycleCall) -> None:
        def run(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO lifecycle_calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1) "
                "ON CONFLICT (route, activity_object_id, interaction_id, interaction_version) "
                "DO UPDATE SET last_seen = excluded.last_seen, calls = calls + 1, "
                "original_definition_id = excluded.original_definition_id, "
                "interaction_key = excluded.interaction_key",
                (
                    call.route,
                    call.activity_object_id,
                    call.interaction_id,
                    call.original_definition_id,
                    call.interaction_key,
                    call.interaction_version,
                    call.at,
                    call.at,
                ),
            )

        await self._tx(run)

    async def list_lifecycle(self, limit: int = 200) -> list[LifecycleRecord]:
        found = await self._query(
            "SELECT * FROM lifecycle_calls ORDER BY last_seen DESC LIMIT ?", (limit,)
        )
        return [rows.lifecycle_from_row(r) for r in found]

    # --- execute: accept is GroupCommitAccept's; answers already given --------------------

    async def find_answer(self, activity_id: str, definition_instance_id: str) -> Answer | None:
        found = await self._query(
            "SELECT status, body FROM executions WHERE activity_id = ? AND "
            "definition_instance_id = ?",
            (activity_id, definition_instance_id),
        )
        return Answer(int(found[0][0]), json.loads(found[0][1])) if found else None

    def _start_accepts(
        self, jobs: Sequence[AcceptJob], done: Callable[[list[Result] | BaseException], None]
    ) -> None:
        """GroupCommit's `start`: the batch's SQL is built here, on the loop, and run in the
        database thread, which hands the outcome straight back to the loop (no future
        between them: the contacts are answered one step of the loop sooner)."""
        executor = self._executor
        if executor is None:
            raise StorageUnavailable("database is closed")
        batch = sqlite_accept.prepare(jobs)
        loop = asyncio.get_running_loop()

        def run() -> None:
            outcome: list[Result] | BaseException
            try:
                with self._writer:
                    found = sqlite_accept.accept_new(self._db, batch)
                if found is None:  # JB retried a contact: look up earlier answers first
                    found = self._transaction(lambda db: sqlite_accept.run(db, batch))
                outcome = found
            except sqlite3.Error as exc:
                outcome = _unavailable(exc)
                outcome.__cause__ = exc  # what GroupCommit judges: one contact's, or systemic
            except Exception as exc:  # the waiting contacts must hear about anything
                outcome = exc
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
                loop.call_soon_threadsafe(done, outcome)

        executor.submit(run)


def _unavailable(exc: sqlite3.Error) -> StorageUnavailable:
    return StorageUnavailable(f"database error: {exc}")


__all__ = ["SENT", "SQLiteStore"]
