"""What the SQLite store's tests share: an open store, items, a migrated in-memory database."""

from __future__ import annotations

import sqlite3

from activity.storage.migrations import migrations_for
from activity.storage.models import Answer, NewItem
from activity.storage.sqlite_setup import split_statements

QUEUED = Answer(200, {"roktStatus": "queued", "roktEventId": "e", "roktError": ""})


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


def migrated_memory_database() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    for migration in migrations_for("sqlite"):
        for statement in split_statements(migration.sql):
            db.execute(statement)
    return db
