"""SQLite's set-based accept and claim: results per job, large batches, and index use."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from activity.storage import sqlite_accept
from activity.storage.migrations import migrations_for
from activity.storage.models import Answer, NewItem
from activity.storage.sqlite import CLAIM_IDS, SQLiteStore, split_statements

QUEUED = Answer(200, {"roktStatus": "queued", "roktEventId": "e", "roktError": ""})
OTHER = Answer(200, {"roktStatus": "skipped_no_subscription", "roktEventId": "e", "roktError": ""})


def item(n: int) -> NewItem:
    return NewItem(
        mid="100",
        account_code="acct",
        action="create",
        batch_key="b",
        payload={"eventId": "e", "title": f"T{n}"},
        subscription_ids=(f"sub-{n}",),
        event_id="e",
        activity_id="a",
        definition_instance_id=f"i-{n}",
        contact_key=f"c-{n}",
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    backend = SQLiteStore(tmp_path / "activity.db")
    await backend.open()
    yield backend
    await backend.close()


def count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


async def test_a_batch_larger_than_one_statement_is_accepted_whole(
    store: SQLiteStore, tmp_path: Path
) -> None:
    n = sqlite_accept.ROWS_PER_STATEMENT * 2 + 7
    results = await asyncio.gather(
        *(store.accept("a", f"i-{k}", QUEUED, [item(k)], 1.0) for k in range(n))
    )
    assert results == [(QUEUED, True)] * n
    assert count(tmp_path / "activity.db", "outbox") == n
    assert count(tmp_path / "activity.db", "executions") == n


async def test_repeats_in_one_batch_and_earlier_answers_are_not_inserted_again(
    store: SQLiteStore, tmp_path: Path
) -> None:
    assert await store.accept("a", "i-0", QUEUED, [item(0)], 1.0) == (QUEUED, True)
    results = await asyncio.gather(  # submitted together: one group commit
        store.accept("a", "i-0", OTHER, [], 2.0),  # answered before
        store.accept("a", "i-1", QUEUED, [item(1)], 2.0),
        store.accept("a", "i-1", OTHER, [], 2.0),  # repeat within the batch: the first wins
        store.accept("a", "i-2", OTHER, [], 2.0),
    )
    assert results == [(QUEUED, False), (QUEUED, True), (QUEUED, False), (OTHER, True)]
    assert count(tmp_path / "activity.db", "outbox") == 2
    assert count(tmp_path / "activity.db", "executions") == 3


def test_lookups_search_indexes_instead_of_scanning() -> None:
    db = sqlite3.connect(":memory:")
    for migration in migrations_for("sqlite"):
        for statement in split_statements(migration.sql):
            db.execute(statement)
    answers = [
        r[3] for r in db.execute(f"EXPLAIN QUERY PLAN {sqlite_accept.EARLIER_ANSWERS}", ("[]",))
    ]
    assert any("USING PRIMARY KEY" in step for step in answers), answers
    claim = [r[3] for r in db.execute(f"EXPLAIN QUERY PLAN {CLAIM_IDS}", (0, 1, 0, 1, 1))]
    # No sort of the whole backlog: due items come in the order of the outbox_due index.
    assert not any("TEMP B-TREE" in step for step in claim), claim


async def test_claim_takes_items_in_the_order_they_fell_due(store: SQLiteStore) -> None:
    for k, due in enumerate([5.0, 1.0, 3.0]):
        await store.accept("a", f"i-{k}", QUEUED, [item(k)], due)
    first = await store.claim("me", now=10.0, lease_seconds=30.0, limit=2)
    assert [i.contact_key for i in first] == ["c-1", "c-2"]  # due at 1 and 3, not 5
    assert all(i.state == "sending" and i.attempts == 1 for i in first)
    assert [i.contact_key for i in await store.claim("me", 10.0, 30.0, 5)] == ["c-0"]
