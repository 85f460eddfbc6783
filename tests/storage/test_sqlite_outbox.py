"""The SQLite outbox as the worker uses it: claim order, the claim's index use and what a claim
reads back."""

from __future__ import annotations

import json
from dataclasses import fields, replace

from activity.storage import rows
from activity.storage.models import NewItem
from activity.storage.sqlite import SQLiteStore
from activity.storage.sqlite_outbox import CLAIM_IDS, CLAIMED, CLAIMED_COLUMNS
from tests.storage.sqlite_helpers import QUEUED, item, migrated_memory_database

NEW_ITEM_FIELDS = [f.name for f in fields(NewItem) if f.name != "payload_json"]


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


async def test_claimed_items_keep_their_own_values_where_a_batch_differs(
    sqlite_store: SQLiteStore,
) -> None:
    shared = item(0)
    made = [
        shared,
        replace(shared, definition_instance_id="i-1", contact_key="c-1", subscription_ids=("s1",)),
        replace(item(2), mid="200", account_code="other", action="cancel", batch_key="b2",
                event_id="e2", journey_id="j2", activity_id="a2"),
        replace(shared, definition_instance_id="i-3", contact_key="c-3", journey_id="j3"),
    ]  # fmt: skip
    for k, new in enumerate(made):
        await sqlite_store.accept(new.activity_id, f"x-{k}", QUEUED, [new], 1.0)
    claimed = await sqlite_store.claim("me", now=10.0, lease_seconds=30.0, limit=10)
    assert [NewItem(**{f: getattr(i, f) for f in NEW_ITEM_FIELDS}) for i in claimed] == made
    assert [i.payload_json for i in claimed] == [m.payload_json for m in made]


def test_a_batch_sharing_one_event_reads_its_payload_once() -> None:
    db = migrated_memory_database()
    event = {"eventId": "e", "title": "x" * 300}
    marks = ", ".join("?" * len(rows.OUTBOX_INSERT_FIELDS))
    insert = (
        f"INSERT INTO outbox ({rows.OUTBOX_INSERT_COLUMNS}, state, created_at, next_attempt_at, "
        f"updated_at) VALUES ({marks}, 'sending', 1, 1, 1)"
    )
    for n in range(50):
        new = replace(item(n), payload=event, payload_json="", journey_id="j")
        db.execute(insert, rows.item_values(new))
    (found,) = db.execute(CLAIMED, (json.dumps(list(range(1, 51))),)).fetchone()
    assert found.count("x" * 300) == 1
    *first, claimed = json.loads(found)
    assert first == ["100", "acct", "create", "b", new.payload_json, "e", "j", "a"]
    journey = CLAIMED_COLUMNS.index("journey_id")
    assert len(claimed) == 50 and {r[journey] for r in claimed} == {None}  # as the first's
