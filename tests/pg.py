"""PostgreSQL for tests: the real server (127.0.0.1:5432, user postgres, trust auth).

Each session gets its own uniquely named database, dropped at the end; tests that need an
untouched database (migrations) make a fresh one. Nothing is skipped when the server is down:
the tests fail, and CI starts the server. `ACTIVITY_TEST_POSTGRES_ADMIN_URL` points elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

T = TypeVar("T")

ADMIN_URL = os.environ.get(
    "ACTIVITY_TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TABLES = (
    "settings",
    "settings_audit",
    "lifecycle_calls",
    "executions",
    "outbox",
    "webhook_endpoints",
    "inbox",
    "subscription_rows",
    "calendar_event_activity",
    "sessions",
    "sso_states",
    "used_jtis",
    "journey_names",
    "delivery_stats",
    "sfmc_connections",
)


def url_for(database: str) -> str:
    return urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{database}"))


async def create_database() -> str:
    name = f"activity_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A new, empty database for one test; yields its URL."""
    name = await create_database()
    try:
        yield url_for(name)
    finally:
        await drop_database(name)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    # Its own thread and loop: callable from sync fixtures and from inside a running loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


@contextlib.contextmanager
def session_database() -> Iterator[str]:
    name = _run(create_database())
    try:
        yield url_for(name)
    finally:
        _run(drop_database(name))


async def empty_tables(url: str) -> None:
    """Forget every row (the schema stays), so tests sharing the session database start clean."""
    conn = await asyncpg.connect(url)
    try:
        if await conn.fetchval("SELECT to_regclass('outbox') IS NOT NULL"):  # else not migrated
            await conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
    finally:
        await conn.close()
