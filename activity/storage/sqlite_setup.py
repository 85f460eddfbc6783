"""Opening the SQLite database: the file owner-only, WAL and the pragmas the store relies on,
the migrations applied once under the write lock; and which errors mean the database cannot
write at all."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from activity.errors import StorageUnavailable
from activity.storage.migrations import migrations_for
from activity.storage.sqlite_writer_lock import SUFFIX as WRITER_LOCK

T = TypeVar("T")


class SQLiteAccess:
    """What the store's mixins use of SQLiteStore: a transaction, or a query, on its thread."""

    if TYPE_CHECKING:

        async def _tx(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...

        async def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]: ...


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """The database file, owner-only, opened in WAL mode with the pragmas the store relies on;
    `read_only` refuses every write on this connection (the store's reader)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        owner_only(path)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
    except (OSError, sqlite3.Error) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StorageUnavailable(f"cannot open the SQLite database {path}: {why.lower()}") from None
    conn.row_factory = sqlite3.Row
    # FULL: an accepted contact survives an OS crash too; group commit pays for the fsync.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA foreign_keys=ON")
    if read_only:
        conn.execute("PRAGMA query_only=ON")
    return conn


def migrate(db: sqlite3.Connection) -> None:
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


def systemic(exc: BaseException) -> bool:
    """The database cannot write at all (locked, disk full or read-only, I/O, closed), as
    opposed to refusing one contact's values (constraints, bindings, encodings)."""
    return isinstance(exc, sqlite3.Error) and not isinstance(
        exc, sqlite3.IntegrityError | sqlite3.InterfaceError | sqlite3.DataError
    )


def owner_only(path: Path) -> None:
    """Create the database file 0600 (or tighten an existing one) before SQLite opens it.

    The database holds encrypted secrets, contact keys and events: like the key file, only
    its owner may read it. SQLite creates the -wal and -shm files with the database file's
    mode, so they follow; ones left by an older version are tightened here too.
    """
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", WRITER_LOCK))):
        with contextlib.suppress(FileNotFoundError):
            if name.stat().st_mode & 0o077:
                name.chmod(0o600)
