"""Processes sharing one SQLite database take turns through a lock file beside it: a writer
waits while another holds it, and is let through the moment it is released."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

from activity.storage.models import Answer
from activity.storage.sqlite import SQLiteStore
from activity.storage.sqlite_writer_lock import WriterLock, lock_path

ANSWER = Answer(200, {"roktStatus": "skipped_no_subscription"})


async def test_every_write_waits_for_the_lock_and_goes_on_when_it_is_released(
    sqlite_store: SQLiteStore, tmp_path: Path
) -> None:
    other = WriterLock(tmp_path / "activity.db")  # another worker's hold on the same file
    try:
        await asyncio.to_thread(other.__enter__)
        accepting = asyncio.ensure_future(sqlite_store.accept("act", "dii-1", ANSWER, [], 1.0))
        probing = asyncio.ensure_future(sqlite_store.probe_write(1.0))
        await asyncio.sleep(0.3)
        assert not accepting.done() and not probing.done()  # SQLite's own lock was free
        await sqlite_store.ping()  # reads never wait for writers
        other.__exit__()
        assert await asyncio.wait_for(accepting, 5) == (ANSWER, True)
        await asyncio.wait_for(probing, 5)
    finally:
        other.close()


async def test_two_stores_on_one_file_accept_all_of_each_others_contacts(tmp_path: Path) -> None:
    first, second = SQLiteStore(tmp_path / "shared.db"), SQLiteStore(tmp_path / "shared.db")
    await first.open()
    await second.open()
    try:

        async def accept(store: SQLiteStore, i: int) -> bool:
            _, new = await store.accept("act", f"dii-{i}", ANSWER, [], float(i))
            return new

        results = await asyncio.gather(
            *(accept(first if i % 2 else second, i) for i in range(400)),
            *(accept(second if i % 2 else first, i) for i in range(400)),  # each contact twice
        )
        assert sum(results) == 400  # each contact new exactly once, whichever store saw it
        rows = await first._query("SELECT COUNT(*) AS n FROM executions")
        assert rows[0]["n"] == 400
    finally:
        await first.close()
        await second.close()


async def test_the_lock_file_is_the_owners_alone(sqlite_store: SQLiteStore, tmp_path: Path) -> None:
    mode = stat.S_IMODE(lock_path(tmp_path / "activity.db").stat().st_mode)
    assert mode == 0o600


def test_a_lock_without_a_database_holds_nothing() -> None:
    lock = WriterLock()
    with lock, lock:  # nested: a real lock would block here
        pass
    lock.close()
