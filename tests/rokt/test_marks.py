"""Coalesced maybe-sent marks on a real SQLite outbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from activity.rokt.marks import MarkWriter
from activity.storage.models import Answer, NewItem
from activity.storage.sqlite import SQLiteStore


async def store_with(tmp_path: Path, n: int) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "activity.db")
    await store.open()
    for i in range(n):
        item = NewItem(
            mid="1", account_code="acme", action="create", batch_key=f"k{i}",
            payload={"eventId": f"e{i}"}, subscription_ids=(f"s{i}",), event_id=f"e{i}",
        )  # fmt: skip
        await store.accept("activity", f"i{i}", Answer(200, {}), [item], 1.0)
    return store


async def test_concurrent_marks_share_writes_and_each_waits_for_its_own(tmp_path: Path) -> None:
    store = await store_with(tmp_path, 40)
    items = await store.claim("w", 2.0, 60.0, 100)
    marks = MarkWriter(store, "w", lambda: 5.0)
    await asyncio.gather(*(marks.mark([i.id]) for i in items))
    assert 1 <= marks.writes < len(items)
    await store.release("w")
    again = await store.claim("w", 3.0, 60.0, 100)
    assert {i.maybe_sent_at for i in again} == {5.0}
    await marks.mark([])
    await store.close()


async def test_a_failed_write_fails_every_caller_it_carried(tmp_path: Path) -> None:
    store = await store_with(tmp_path, 2)
    items = await store.claim("w", 2.0, 60.0, 100)
    marks = MarkWriter(store, "w", lambda: 5.0)
    await store.close()  # the next write cannot happen
    results = await asyncio.gather(*(marks.mark([i.id]) for i in items), return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results)
    with pytest.raises(Exception):  # noqa: B017 - whatever the closed store raises
        await marks.mark([items[0].id])
