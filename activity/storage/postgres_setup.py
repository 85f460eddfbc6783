"""PostgreSQL plumbing: pool options from the database URL, errors, and locked migrations."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from activity.config import ConfigError
from activity.storage.migrations import migrations_for


class PostgresAccess:
    """What the store's mixins use of PostgresStore: queries and a transaction on its pool."""

    if TYPE_CHECKING:

        async def _fetch(self, query: str, *args: Any) -> list[Any]: ...

        async def _execute(self, query: str, *args: Any) -> None: ...

        def _tx(self) -> AbstractAsyncContextManager[Any]: ...


DEFAULT_POOL_MIN = 2
DEFAULT_POOL_MAX = 10
DEFAULT_COMMAND_TIMEOUT = 30.0

# pg_advisory_xact_lock key ("Rokt" in ASCII): instances starting together migrate one at a time.
MIGRATION_LOCK = 0x526F6B74

# Everything that means "the database did not do it"; callers see StorageUnavailable.
DB_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,  # includes ConnectionError and TimeoutError
)

# Database errors that one job in a group commit can cause on its own; other DB_ERRORS fail the
# whole batch (the database cannot write), anything else is retried job by job too.
JOB_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.TransactionRollbackError,
    TypeError,
    ValueError,
)

_OPTION_PARAMS = ("pool_min", "pool_max", "command_timeout")


@dataclass(frozen=True)
class PoolOptions:
    dsn: str
    min_size: int = DEFAULT_POOL_MIN
    max_size: int = DEFAULT_POOL_MAX
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT


def pool_options(
    database_url: str,
    *,
    min_size: int | None = None,
    max_size: int | None = None,
    command_timeout: float | None = None,
) -> PoolOptions:
    """Split our own query parameters (`pool_min`, `pool_max`, `command_timeout`) off the URL.

    asyncpg would send unknown parameters to the server as settings, which it rejects.
    Explicit arguments win over the URL, the URL over the defaults.
    """
    parts = urlsplit(database_url)
    ours: dict[str, str] = {}
    theirs: list[tuple[str, str]] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in _OPTION_PARAMS:
            ours[key] = value
        else:
            theirs.append((key, value))
    dsn = urlunsplit(parts._replace(query=urlencode(theirs)))
    low = min_size if min_size is not None else _number(ours, "pool_min", int, DEFAULT_POOL_MIN)
    high = max_size if max_size is not None else _number(ours, "pool_max", int, DEFAULT_POOL_MAX)
    timeout = (
        command_timeout
        if command_timeout is not None
        else _number(ours, "command_timeout", float, DEFAULT_COMMAND_TIMEOUT)
    )
    if high < 1 or low < 0 or low > high:
        raise ConfigError(
            f"ACTIVITY_DATABASE_URL: need 0 <= pool_min <= pool_max and pool_max >= 1, "
            f"got pool_min={low} pool_max={high}"
        )
    if timeout <= 0:
        raise ConfigError("ACTIVITY_DATABASE_URL: command_timeout must be positive")
    return PoolOptions(dsn, low, high, timeout)


def _number(params: dict[str, str], name: str, kind: type[Any], default: Any) -> Any:
    if name not in params:
        return default
    try:
        return kind(params[name])
    except ValueError:
        raise ConfigError(
            f"ACTIVITY_DATABASE_URL: {name} must be a number, got {params[name]!r}"
        ) from None


async def migrate(conn: Any) -> list[int]:
    """Apply pending migrations in one transaction under the advisory lock; returns versions."""
    applied: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for migration in migrations_for("postgres"):
            if migration.version in done:
                continue
            await conn.execute(migration.sql)  # no arguments: the simple protocol, many statements
            await conn.execute(
                "INSERT INTO schema_migrations VALUES ($1, $2, extract(epoch FROM now()))",
                migration.version,
                migration.name,
            )
            applied.append(migration.version)
    return applied
