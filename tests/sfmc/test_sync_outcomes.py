"""How the sync worker settles claimed inbox items, on a real SQLite inbox."""

from __future__ import annotations

import logging
from dataclasses import replace

from activity.rokt.retry import MAX_ATTEMPTS
from activity.sfmc.sync_outcomes import GAVE_UP, SyncOutcomes
from activity.storage.inbox import HELD, InboxItem, NewWebhook
from activity.storage.models import DEAD, QUEUED
from activity.storage.sqlite import SQLiteStore

MID, OWNER = "100", "me"


class Settler(SyncOutcomes):
    def __init__(self, store: SQLiteStore) -> None:
        self._inbox = store.inbox
        self._owner = OWNER
        self._clock = lambda: 1_000.0
        self._rand = lambda: 0.5
        self._metrics = None
        self._log = logging.getLogger(__name__)
        self.rows_synced = 0


async def claimed(store: SQLiteStore, n: int) -> list[InboxItem]:
    for k in range(n):
        changes = {"Email": (f"a{k}@x.co", 1.0)}
        assert await store.inbox.accept(
            NewWebhook(MID, f"w-{k}", "Subscribe", f"s-{k}", changes), 1.0
        )
    return await store.inbox.claim(OWNER, 1_000.0, 30.0, n)


async def test_a_held_item_is_not_an_attempt_and_a_retry_waits(store: SQLiteStore) -> None:
    held, retried = await claimed(store, 2)
    settler = Settler(store)
    await settler._hold([held], "needs_sign_in: x")
    await settler._retry([retried], "429")
    assert await store.inbox.counts(MID) == {HELD: 1, QUEUED: 1}
    assert await store.inbox.claim(OWNER, 1_000.0, 30.0, 10) == []  # the retry is not due yet
    await store.inbox.unhold(MID, 1_000.0)
    (again,) = await store.inbox.claim(OWNER, 1_000.0, 30.0, 10)
    assert again.id == held.id and again.attempts == 1  # the held try did not count


async def test_an_item_out_of_attempts_is_dead_with_the_reason(store: SQLiteStore) -> None:
    (item,) = await claimed(store, 1)
    settler = Settler(store)
    tired = replace(item, attempts=MAX_ATTEMPTS)
    await settler._retry([tired], "503 from Marketing Cloud")
    assert await store.inbox.counts(MID) == {DEAD: 1}
    (dead,) = await store.inbox.recent_dead(MID)
    assert dead.last_error == f"{GAVE_UP}: 503 from Marketing Cloud"
