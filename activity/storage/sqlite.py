"""SQLite store: WAL mode, one connection on one thread, concurrent accepts committed together."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from activity.errors import StorageUnavailable
from activity.storage import group_commit, rows, running_queries, sqlite_accept
from activity.storage.group_commit import AcceptJob, GroupCommit, Result
from activity.storage.inbox import Inbox
from activity.storage.migrations import migrations_for
from activity.storage.models import (
    DEAD,
    QUEUED,
    SENDING,
    SENT,
    ActivityStats,
    Answer,
    AuditEntry,
    DeadItem,
    DeliveryCount,
    LifecycleCall,
    LifecycleRecord,
    NewItem,
    OutboxDepth,
    OutboxItem,
    StoredSettings,
)
from activity.storage.sqlite_inbox import SQLiteInbox
from activity.storage.sqlite_operations import (
    PRUNE_STATS,
    SQLiteOperationsMixin,
    count_retries,
)
from activity.storage.sqlite_sso import SQLiteSsoMixin

T = TypeVar("T")
CLOSE_GRACE_SECONDS = 10.0  # commit accepts already waiting before the connection closes
# Claimed but never tried (given back, or released): the claim counted an attempt that did
# not happen.
UNCOUNT_ATTEMPT = "MAX(attempts - 1, 0)"


def split_statements(script: str) -> list[str]:
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip() and not current.strip().startswith("--"):
        statements.append(current.strip())
    return statements


def _systemic(exc: BaseException) -> bool:
    """The database cannot write at all (locked, disk full or read-only, I/O, closed), as
    opposed to refusing one contact's values (constraints, bindings, encodings)."""
    return isinstance(exc, sqlite3.Error) and not isinstance(
        exc, sqlite3.IntegrityError | sqlite3.InterfaceError | sqlite3.DataError
    )


def _owner_only(path: Path) -> None:
    """Create the database file 0600 (or tighten an existing one) before SQLite opens it.

    The database holds encrypted secrets, contact keys and events: like the key file, only
    its owner may read it. SQLite creates the -wal and -shm files with the database file's
    mode, so they follow; ones left by an older version are tightened here too.
    """
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
        with contextlib.suppress(FileNotFoundError):
            if name.stat().st_mode & 0o077:
                name.chmod(0o600)


class SQLiteStore(SQLiteSsoMixin, SQLiteOperationsMixin):
    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._commits: GroupCommit | None = None
        self.inbox: Inbox = SQLiteInbox(self._tx, self._query)

    # --- plumbing -------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise StorageUnavailable("database is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageUnavailable("database is closed")
        return self._conn

    def _connect(self) -> None:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            _owner_only(self._path)
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise StorageUnavailable(
                f"cannot open the SQLite database {self._path}: {why.lower()}"
            ) from None
        conn.row_factory = sqlite3.Row
        # FULL: an accepted contact survives an OS crash too; group commit pays for the fsync.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA foreign_keys=ON")
        self._conn = conn
        self._migrate()

    def _migrate(self) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")  # the write lock serialises processes starting together
        try:
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            done = {r[0] for r in db.execute("SELECT version FROM schema_migrations")}
            for migration in migrations_for("sqlite"):
                if migration.version in done:
                    continue
                for statement in split_statements(migration.sql):
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, strftime('%s','now'))",
                    (migration.version, migration.name),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        db = self._db
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
            raise StorageUnavailable(f"database error: {exc}") from exc

    async def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        def run() -> list[sqlite3.Row]:
            return list(self._db.execute(sql, params))

        try:
            return await self._run(run)
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"database error: {exc}") from exc

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
        self._commits = GroupCommit(
            self._accept_batch,
            systemic=_systemic,
            name="sqlite-group-commit",
        )

    async def close(self) -> None:
        if self._commits is not None:
            commits, self._commits = self._commits, None
            await commits.stop(CLOSE_GRACE_SECONDS)
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await self._run(conn.close)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def ping(self) -> None:
        await self._query("SELECT 1")

    # --- settings -------------------------------------------------------------------------

    async def get_settings(self, mid: str) -> StoredSettings | None:
        found = await self._query("SELECT * FROM settings WHERE mid = ?", (mid,))
        return rows.settings_from_row(found[0]) if found else None

    async def get_enterprise_default(self, enterprise_id: str) -> StoredSettings | None:
        found = await self._query(
            "SELECT * FROM settings WHERE enterprise_id = ? AND is_enterprise_default = 1 "
            "ORDER BY updated_at DESC LIMIT 1",
            (enterprise_id,),
        )
        return rows.settings_from_row(found[0]) if found else None

    async def list_settings(self) -> list[StoredSettings]:
        return [
            rows.settings_from_row(r)
            for r in await self._query("SELECT * FROM settings ORDER BY mid")
        ]

    async def put_settings(self, settings: StoredSettings, audit: AuditEntry) -> None:
        def run(db: sqlite3.Connection) -> None:
            if settings.is_enterprise_default:
                db.execute(
                    "UPDATE settings SET is_enterprise_default = 0 "
                    "WHERE enterprise_id = ? AND mid <> ?",
                    (settings.enterprise_id, settings.mid),
                )
            db.execute(
                "INSERT INTO settings (mid, account_code, account_id, client_id, secret_token, "
                "enterprise_id, is_enterprise_default, updated_at, updated_by, calendar_ids) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (mid) DO UPDATE SET "
                "account_code = excluded.account_code, account_id = excluded.account_id, "
                "client_id = excluded.client_id, secret_token = excluded.secret_token, "
                "enterprise_id = excluded.enterprise_id, "
                "is_enterprise_default = excluded.is_enterprise_default, "
                "updated_at = excluded.updated_at, updated_by = excluded.updated_by, "
                "calendar_ids = excluded.calendar_ids",
                (
                    settings.mid,
                    settings.account_code,
                    settings.account_id,
                    settings.client_id,
                    settings.secret_token,
                    settings.enterprise_id,
                    int(settings.is_enterprise_default),
                    settings.updated_at,
                    settings.updated_by,
                    ",".join(settings.calendar_ids),
                ),
            )
            _insert_audit(db, audit)

        await self._tx(run)

    async def delete_settings(self, mid: str, audit: AuditEntry) -> bool:
        def run(db: sqlite3.Connection) -> bool:
            deleted = db.execute("DELETE FROM settings WHERE mid = ?", (mid,)).rowcount > 0
            if deleted:
                _insert_audit(db, audit)
            return deleted

        return await self._tx(run)

    async def replace_secrets(self, tokens: dict[str, bytes]) -> int:
        def run(db: sqlite3.Connection) -> int:
            return sum(
                db.execute(
                    "UPDATE settings SET secret_token = ? WHERE mid = ?", (token, mid)
                ).rowcount
                for mid, token in tokens.items()
            )

        return await self._tx(run)

    async def add_audit_entry(self, audit: AuditEntry) -> None:
        await self._tx(lambda db: _insert_audit(db, audit))

    async def audit_log(self, mid: str, limit: int = 50) -> list[AuditEntry]:
        found = await self._query(
            "SELECT * FROM settings_audit WHERE mid = ? ORDER BY at DESC, id DESC LIMIT ?",
            (mid, limit),
        )
        return [rows.audit_from_row(r) for r in found]

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

    # --- execute: durable, idempotent accept with group commit ----------------------------

    async def accept(
        self,
        activity_id: str,
        definition_instance_id: str,
        answer: Answer,
        items: Sequence[NewItem],
        now: float,
    ) -> tuple[Answer, bool]:
        return await group_commit.accept(
            self._commits, activity_id, definition_instance_id, answer, items, now
        )

    async def find_answer(self, activity_id: str, definition_instance_id: str) -> Answer | None:
        found = await self._query(
            "SELECT status, body FROM executions WHERE activity_id = ? AND "
            "definition_instance_id = ?",
            (activity_id, definition_instance_id),
        )
        return Answer(int(found[0][0]), json.loads(found[0][1])) if found else None

    async def _accept_batch(self, jobs: Sequence[AcceptJob]) -> list[Result]:
        batch = sqlite_accept.prepare(jobs)
        return await self._tx(lambda db: sqlite_accept.run(db, batch))

    # --- outbox ---------------------------------------------------------------------------

    async def claim(
        self, owner: str, now: float, lease_seconds: float, limit: int
    ) -> list[OutboxItem]:
        def run(db: sqlite3.Connection) -> str:
            (ids,) = db.execute(CLAIM_IDS, (now, limit, now, limit, limit)).fetchone()
            if ids == "[]":
                return "[]"
            db.execute(CLAIM, (SENDING, owner, now + lease_seconds, now, ids))
            (found,) = db.execute(CLAIMED, (ids,)).fetchone()
            return str(found)

        found = json.loads(await self._tx(run))
        return rows.items_from_rows(dict(zip(CLAIMED_COLUMNS, r, strict=True)) for r in found)

    async def _update(
        self,
        ids: Sequence[int],
        sql: str,
        params: Sequence[Any],
        owner: str | None = None,
        *,
        retry_at: float | None = None,
    ) -> None:
        """With `retry_at`, the changed rows are also counted as retries at that time."""
        if not ids:
            return
        where, keys = f" WHERE id IN ({_marks(ids)})", tuple[Any, ...](ids)
        if owner is not None:
            where, keys = f"{where} AND state = ? AND lease_owner = ?", (*keys, SENDING, owner)

        def run(db: sqlite3.Connection) -> None:
            if retry_at is not None:
                count_retries(db, where, keys, retry_at)
            db.execute(sql + where, (*params, *keys))

        await self._tx(run)

    async def mark_sent(
        self, ids: Sequence[int], now: float, *, owner: str | None = None, note: str = ""
    ) -> None:
        await self._update(
            ids,
            "UPDATE outbox SET state = ?, lease_owner = '', updated_at = ?, sent_at = ?, "
            "last_error = ?",
            (SENT, now, now, note),
            owner,
        )

    async def mark_maybe_sent(
        self, ids: Sequence[int], at: float | None, *, owner: str | None = None
    ) -> None:
        await self._update(ids, "UPDATE outbox SET maybe_sent_at = ?", (at,), owner)

    async def mark_retry(
        self,
        ids: Sequence[int],
        now: float,
        next_attempt_at: float,
        error: str,
        *,
        owner: str | None = None,
    ) -> None:
        await self._update(
            ids,
            "UPDATE outbox SET state = ?, lease_owner = '', next_attempt_at = ?, "
            "last_error = ?, updated_at = ?",
            (QUEUED, next_attempt_at, error, now),
            owner,
            retry_at=now,
        )

    async def mark_dead(
        self, ids: Sequence[int], now: float, error: str, *, owner: str | None = None
    ) -> None:
        await self._update(
            ids,
            "UPDATE outbox SET state = ?, lease_owner = '', last_error = ?, updated_at = ?",
            (DEAD, error, now),
            owner,
        )

    async def give_back(
        self, ids: Sequence[int], now: float, why: str, *, owner: str | None = None
    ) -> None:
        await self._update(
            ids,
            "UPDATE outbox SET state = ?, lease_owner = '', lease_until = 0, "
            f"attempts = {UNCOUNT_ATTEMPT}, next_attempt_at = ?, last_error = ?, updated_at = ?",
            (QUEUED, now, why, now),
            owner,
        )

    async def release(self, owner: str) -> None:
        await self._tx(
            lambda db: db.execute(
                "UPDATE outbox SET state = ?, lease_owner = '', lease_until = 0, "
                f"attempts = {UNCOUNT_ATTEMPT} WHERE state = ? AND lease_owner = ?",
                (QUEUED, SENDING, owner),
            )
        )

    async def next_due_at(self) -> float | None:
        found = await self._query(
            "SELECT MIN(next_attempt_at) AS due FROM outbox WHERE state = ?", (QUEUED,)
        )
        due = found[0]["due"] if found else None
        return float(due) if due is not None else None

    async def delivery_counts(self, mid: str | None = None) -> list[DeliveryCount]:
        where, params = ("WHERE mid = ?", (mid,)) if mid is not None else ("", ())
        found = await self._query(
            f"SELECT journey_id, activity_id, state, COUNT(*) AS n FROM outbox {where} "
            "GROUP BY journey_id, activity_id, state ORDER BY journey_id, activity_id, state",
            params,
        )
        return [DeliveryCount(r["journey_id"], r["activity_id"], r["state"], r["n"]) for r in found]

    async def recent_dead(self, mid: str | None = None, limit: int = 20) -> list[DeadItem]:
        where, params = ("AND mid = ?", (mid,)) if mid is not None else ("", ())
        found = await self._query(
            f"SELECT * FROM outbox WHERE state = ? {where} ORDER BY updated_at DESC, id DESC "
            "LIMIT ?",
            (DEAD, *params, limit),
        )
        return [rows.dead_from_row(r) for r in found]

    async def deliveries_over_time(
        self, mid: str | None, since: float, bucket_seconds: int
    ) -> list[tuple[float, int]]:
        where, params = ("AND mid = ?", (mid,)) if mid is not None else ("", ())
        found = await self._query(
            "SELECT CAST(sent_at / ? AS INTEGER) * ? AS bucket, COUNT(*) AS n FROM outbox "
            f"WHERE sent_at IS NOT NULL AND sent_at >= ? {where} GROUP BY bucket ORDER BY bucket",
            (bucket_seconds, bucket_seconds, since, *params),
        )
        return [(float(r["bucket"]), int(r["n"])) for r in found]

    async def outbox_depth(self, now: float) -> OutboxDepth:
        found = await self._query(
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE state IN (?, ?)",
            (QUEUED, SENDING),
        )
        row = found[0]
        oldest = row["oldest"]
        return OutboxDepth(int(row["n"]), max(0.0, now - float(oldest)) if oldest else 0.0)

    async def prune(self, before: float, limit: int) -> int:
        def run(db: sqlite3.Connection) -> int:
            answers = db.execute(PRUNE_EXECUTIONS, (before, limit)).rowcount
            db.execute(PRUNE_STATS, (before,))  # a few rows per business unit and hour
            return answers + db.execute(PRUNE_OUTBOX, (before, limit)).rowcount

        return await self._tx(run)

    # --- running-journey hover and modal ---------------------------------------------------

    async def activity_stats(self, mid: str, activity_id: str) -> ActivityStats:
        params = running_queries.stats_params(mid, activity_id)
        found = {name: await self._query(RUNNING[name], args) for name, args in params.items()}
        return running_queries.stats_from_rows(
            found["states"], found["last_error"], found["dead_reasons"], found["skipped"]
        )

    async def dead_of_activity(self, mid: str, activity_id: str, limit: int) -> list[DeadItem]:
        found = await self._query(RUNNING["dead_items"], (mid, activity_id, limit))
        return [rows.dead_from_row(r) for r in found]

    async def requeue_dead(self, mid: str, activity_id: str, now: float, audit: AuditEntry) -> int:
        def run(db: sqlite3.Connection) -> int:
            changed = db.execute(RUNNING["requeue_dead"], (now, now, mid, activity_id)).rowcount
            if changed:
                _insert_audit(db, audit)
            return int(changed)

        return await self._tx(run)


# Due items in the order they fell due (the index order: no sort of the whole backlog), then
# items whose lease ran out. Claimed rows come back as one JSON row, not a row per item: the
# database thread retakes the GIL after every row it steps through.
CLAIM_IDS = f"""
SELECT json_group_array(id) FROM (
    SELECT id FROM (SELECT id FROM outbox WHERE state = '{QUEUED}' AND next_attempt_at <= ?
                    ORDER BY next_attempt_at LIMIT ?)
    UNION ALL
    SELECT id FROM (SELECT id FROM outbox WHERE state = '{SENDING}' AND lease_until < ? LIMIT ?)
    LIMIT ?
)
"""
CLAIM = """
UPDATE outbox SET state = ?, lease_owner = ?, lease_until = ?, attempts = attempts + 1,
                  updated_at = ?
WHERE id IN (SELECT value FROM json_each(?))
"""
CLAIMED_COLUMNS = (
    "id", *rows.OUTBOX_INSERT_FIELDS,
    "state", "attempts", "created_at", "next_attempt_at", "last_error", "maybe_sent_at",
)  # fmt: skip
CLAIMED = f"""
SELECT json_group_array(json_array({", ".join(CLAIMED_COLUMNS)}))
FROM outbox WHERE id IN (SELECT value FROM json_each(?))
"""
PRUNE_EXECUTIONS = (
    "DELETE FROM executions WHERE (activity_id, definition_instance_id) IN "
    "(SELECT activity_id, definition_instance_id FROM executions WHERE created_at < ? LIMIT ?)"
)
PRUNE_OUTBOX = (
    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox "
    "WHERE state IN ('sent', 'dead') AND updated_at < ? LIMIT ?)"
)


RUNNING = running_queries.queries("sqlite")


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def _insert_audit(db: sqlite3.Connection, audit: AuditEntry) -> None:
    db.execute(
        "INSERT INTO settings_audit (mid, at, user_id, user_email, action, detail) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (audit.mid, audit.at, audit.user_id, audit.user_email, audit.action, audit.detail),
    )


__all__ = ["SENT", "SQLiteStore"]
