"""SQLite's set-based accept: results per job, large batches, and index use."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path

from activity.storage import sqlite_accept
from activity.storage.group_commit import AcceptJob
from activity.storage.models import Answer
from activity.storage.sqlite import SQLiteStore
from tests.storage.sqlite_helpers import QUEUED, item, migrated_memory_database

OTHER = Answer(200, {"roktStatus": "skipped_no_subscription", "roktEventId": "e", "roktError": ""})


def count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


async def test_a_batch_larger_than_one_statement_is_accepted_whole(
    sqlite_store: SQLiteStore, tmp_path: Path
) -> None:
    n = sqlite_accept.ROWS_PER_STATEMENT * 2 + 7
    results = await asyncio.gather(
        *(sqlite_store.accept("a", f"i-{k}", QUEUED, [item(k)], 1.0) for k in range(n))
    )
    assert results == [(QUEUED, True)] * n
    assert count(tmp_path / "activity.db", "outbox") == n
    assert count(tmp_path / "activity.db", "executions") == n


async def test_repeats_in_one_batch_and_earlier_answers_are_not_inserted_again(
    sqlite_store: SQLiteStore, tmp_path: Path
) -> None:
    assert await sqlite_store.accept("a", "i-0", QUEUED, [item(0)], 1.0) == (QUEUED, True)
    results = await asyncio.gather(  # submitted together: one group commit
        sqlite_store.accept("a", "i-0", OTHER, [], 2.0),  # answered before
        sqlite_store.accept("a", "i-1", QUEUED, [item(1)], 2.0),
        sqlite_store.accept("a", "i-1", OTHER, [], 2.0),  # repeat within the batch: the first wins
        sqlite_store.accept("a", "i-2", OTHER, [], 2.0),
    )
    assert results == [(QUEUED, False), (QUEUED, True), (QUEUED, False), (OTHER, True)]
    assert count(tmp_path / "activity.db", "outbox") == 2
    assert count(tmp_path / "activity.db", "executions") == 3


def test_lookups_search_indexes_instead_of_scanning() -> None:
    db = migrated_memory_database()
    answers = [
        r[3] for r in db.execute(f"EXPLAIN QUERY PLAN {sqlite_accept.EARLIER_ANSWERS}", ("[]",))
    ]
    assert any("USING PRIMARY KEY" in step for step in answers), answers


def test_new_contacts_skip_the_lookup_and_a_retried_one_takes_it() -> None:
    db = migrated_memory_database()
    statements: list[str] = []
    db.set_trace_callback(statements.append)

    def accept(*keys: str) -> list[tuple[Answer, bool]]:
        statements.clear()
        jobs = [
            AcceptJob("a", key, QUEUED, (replace(item(n), definition_instance_id=key),), 1.0)
            for n, key in enumerate(keys)
        ]
        return sqlite_accept.run(db, sqlite_accept.prepare(jobs))

    assert accept("i-0", "i-1") == [(QUEUED, True), (QUEUED, True)]
    assert not any("json_group_array" in s for s in statements)  # no lookup
    assert accept("i-2", "i-0") == [(QUEUED, True), (QUEUED, False)]
    assert any("json_group_array" in s for s in statements)  # i-0 refused the fast insert
    rows = db.execute("SELECT definition_instance_id FROM outbox ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["i-0", "i-1", "i-2"]  # i-0 is not queued twice
    (answers,) = db.execute("SELECT COUNT(*) FROM executions").fetchone()
    assert answers == 3
