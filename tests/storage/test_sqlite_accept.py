"""SQLite's set-based accept: results per job, large batches, and index use."""

from __future__ import annotations

import asyncio
import json
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


def _accept_as_the_store_does(
    db: sqlite3.Connection, jobs: list[AcceptJob]
) -> list[tuple[Answer, bool]]:
    batch = sqlite_accept.prepare(jobs)
    done = sqlite_accept.accept_new(db, batch)
    if done is None:
        db.execute("BEGIN IMMEDIATE")
        done = sqlite_accept.run(db, batch)
        db.execute("COMMIT")
    return done


def _autocommit_database() -> sqlite3.Connection:
    db = migrated_memory_database()
    db.isolation_level = None  # as the store opens it: no implicit transactions
    return db


def test_new_contacts_take_one_statement_and_a_retried_one_the_lookup() -> None:
    db = _autocommit_database()
    statements: list[str] = []
    db.set_trace_callback(statements.append)

    def accept(*keys: str) -> list[tuple[Answer, bool]]:
        statements.clear()
        jobs = [
            AcceptJob("a", key, QUEUED, (replace(item(n), definition_instance_id=key),), 1.0)
            for n, key in enumerate(keys)
        ]
        return _accept_as_the_store_does(db, jobs)

    assert accept("i-0", "i-1") == [(QUEUED, True), (QUEUED, True)]
    # One statement, no BEGIN (SQLite traces it again for each step of its trigger).
    assert statements and all(s.startswith("INSERT INTO accepts") for s in statements)
    assert accept("i-2", "i-0") == [(QUEUED, True), (QUEUED, False)]
    assert any("json_group_array" in s for s in statements)  # i-0 refused the fast insert
    assert "BEGIN IMMEDIATE" in statements  # after the refused statement, a transaction
    rows = db.execute("SELECT definition_instance_id FROM outbox ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["i-0", "i-1", "i-2"]  # i-0 is not queued twice
    (answers,) = db.execute("SELECT COUNT(*) FROM executions").fetchone()
    assert answers == 3


def test_a_refused_statement_leaves_nothing_of_the_contacts_before_the_repeat() -> None:
    db = _autocommit_database()
    first = AcceptJob("a", "i-9", QUEUED, (replace(item(9), definition_instance_id="i-9"),), 1.0)
    assert _accept_as_the_store_does(db, [first]) == [(QUEUED, True)]
    jobs = [AcceptJob("a", f"i-{n}", QUEUED, (item(n),), 2.0) for n in (1, 2)] + [first]
    assert sqlite_accept.accept_new(db, sqlite_accept.prepare(jobs)) is None
    assert db.execute("SELECT COUNT(*) FROM executions").fetchone() == (1,)
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone() == (1,)
    assert not db.in_transaction


def test_each_answer_keeps_its_mid_and_only_contacts_with_an_item_are_queued() -> None:
    db = _autocommit_database()
    jobs = [
        AcceptJob("a", "i-1", QUEUED, (item(1),), 1.0, mid="100"),
        AcceptJob("a", "i-2", OTHER, (), 1.0, mid="200"),
        AcceptJob("a", "i-3", OTHER, (), 1.0),
    ]
    assert _accept_as_the_store_does(db, jobs) == [(QUEUED, True), (OTHER, True), (OTHER, True)]
    answers = db.execute(
        "SELECT definition_instance_id, status, body, created_at, mid FROM executions "
        "ORDER BY definition_instance_id"
    ).fetchall()
    assert [(a[0], a[4]) for a in answers] == [("i-1", "100"), ("i-2", "200"), ("i-3", None)]
    assert [(a[1], json.loads(a[2]), a[3]) for a in answers] == [
        (200, QUEUED.body, 1.0),
        (200, OTHER.body, 1.0),
        (200, OTHER.body, 1.0),
    ]
    queued = db.execute(
        "SELECT mid, account_code, action, batch_key, payload, subscription_ids, event_id, "
        "journey_id, activity_id, definition_instance_id, contact_key, state, attempts, "
        "created_at, next_attempt_at, updated_at FROM outbox"
    ).fetchall()
    assert queued == [
        (
            "100", "acct", "create", "b", item(1).payload_json, '["sub-1"]', "e",
            "", "a", "i-1", "c-1", "queued", 0, 1.0, 1.0, 1.0,
        )
    ]  # fmt: skip


def test_a_contact_with_several_items_takes_the_transaction() -> None:
    db = _autocommit_database()
    two = AcceptJob("a", "i-1", QUEUED, (item(1), item(2)), 1.0)
    assert sqlite_accept.prepare([two]).accepts is None
    assert _accept_as_the_store_does(db, [two]) == [(QUEUED, True)]
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone() == (2,)
