"""The SQLite outbox as the worker uses it: claim order and the claim's index use."""

from __future__ import annotations

from activity.storage.sqlite import SQLiteStore
from activity.storage.sqlite_outbox import CLAIM_IDS
from tests.storage.sqlite_helpers import QUEUED, item, migrated_memory_database


def test_claim_searches_the_due_index_instead_of_sorting() -> None:
    db = migrated_memory_database()
    claim = [r[3] for r in db.execute(f"EXPLAIN QUERY PLAN {CLAIM_IDS}", (0, 1, 0, 1, 1))]
    # No sort of the whole backlog: due items come in the order of the outbox_due index.
    assert not any("TEMP B-TREE" in step for step in claim), claim


async def test_claim_takes_items_in_the_order_they_fell_due(sqlite_store: SQLiteStore) -> None:
    for k, due in enumerate([5.0, 1.0, 3.0]):
        await sqlite_store.accept("a", f"i-{k}", QUEUED, [item(k)], due)
    first = await sqlite_store.claim("me", now=10.0, lease_seconds=30.0, limit=2)
    assert [i.contact_key for i in first] == ["c-1", "c-2"]  # due at 1 and 3, not 5
    assert all(i.state == "sending" and i.attempts == 1 for i in first)
    assert [i.contact_key for i in await sqlite_store.claim("me", 10.0, 30.0, 5)] == ["c-0"]
