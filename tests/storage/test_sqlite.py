"""The SQLite store's two connections: reads never wait for the writer's thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from activity.errors import StorageUnavailable
from activity.storage.models import LifecycleCall
from activity.storage.sqlite import SQLiteStore

CALL = LifecycleCall("publish", "act-1", "int-1", "def-1", "key-1", "1", 10.0)


async def test_reads_answer_while_the_writer_holds_a_long_transaction(
    sqlite_store: SQLiteStore,
) -> None:
    await sqlite_store.record_lifecycle(CALL)
    inside, release = threading.Event(), threading.Event()

    def slow(db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM lifecycle_calls")  # uncommitted until released
        inside.set()
        release.wait(10)

    writing = asyncio.ensure_future(sqlite_store._tx(slow))
    try:
        await asyncio.to_thread(inside.wait, 5)
        # A session check, /readyz's ping and a page's read, all while the writer is held.
        assert await asyncio.wait_for(sqlite_store.get_session("no-such-hash", 0.0), 2) is None
        await asyncio.wait_for(sqlite_store.ping(), 2)
        seen = await asyncio.wait_for(sqlite_store.list_lifecycle(), 2)
        assert [r.activity_object_id for r in seen] == ["act-1"]  # the delete is not committed
        assert not writing.done()
    finally:
        release.set()
        await writing
    assert await sqlite_store.list_lifecycle() == []  # committed: the reader sees it at once


async def test_the_reader_cannot_write(sqlite_store: SQLiteStore) -> None:
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await sqlite_store._read(lambda db: db.execute("DELETE FROM lifecycle_calls"))


async def test_a_closed_store_refuses_reads(sqlite_store: SQLiteStore) -> None:
    await sqlite_store.close()
    with pytest.raises(StorageUnavailable):
        await sqlite_store.ping()
    with pytest.raises(StorageUnavailable):
        await sqlite_store.get_session("x", 0.0)
