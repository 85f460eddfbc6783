"""Recording delivery outcomes in a real SQLite outbox: sent, retry with backoff, dead."""

from __future__ import annotations

import dataclasses

import pytest

from activity.errors import RoktAuthFailed, RoktError, RoktRejected, RoktRetryable
from activity.ops.metrics import Metrics
from activity.rokt.outcomes import DEAD_PREFIXES, Outcomes
from activity.rokt.retry import MAX_ATTEMPTS
from activity.storage.models import DEAD, QUEUED, SENT, Answer, NewItem, OutboxItem
from activity.storage.sqlite import SQLiteStore

NOW = 1_900_000_000.0


async def claimed(store: SQLiteStore, n: int) -> list[OutboxItem]:
    for i in range(n):
        item = NewItem(
            "1", "acme", "create", "k", {"eventId": "e"}, (f"s{i}",), "e", contact_key=f"c{i}"
        )
        await store.accept("a", f"d{i}", Answer(200, {}), [item], NOW)
    return await store.claim("me", NOW, 60, 100)


async def states(store: SQLiteStore) -> dict[str, int]:
    return {c.state: c.count for c in await store.delivery_counts()}


async def test_sent_rejected_and_metrics(store: SQLiteStore) -> None:
    metrics = Metrics()
    outcomes = Outcomes(store, metrics, clock=lambda: NOW)
    items = await claimed(store, 3)
    await outcomes.settle(items[:2], None)
    await outcomes.settle(items[2:], RoktRejected("Rokt answered HTTP 400: bad title"))
    assert await states(store) == {SENT: 2, DEAD: 1}
    (dead,) = await store.recent_dead()
    assert dead.reason == "rejected: Rokt answered HTTP 400: bad title"
    sample = metrics.registry.get_sample_value
    assert sample("activity_deliveries_total", {"outcome": "sent"}) == 2
    assert sample("activity_deliveries_total", {"outcome": "dead"}) == 1


async def test_retry_waits_by_backoff_and_retry_after(store: SQLiteStore) -> None:
    outcomes = Outcomes(store, clock=lambda: NOW, rand=lambda: 0.0)
    items = await claimed(store, 2)
    await outcomes.settle(items[:1], RoktRetryable("Rokt answered HTTP 503: busy", status=503))
    assert await store.next_due_at() == NOW + 1.0
    await outcomes.retry(items[1:], RoktRetryable("slow down", status=429, retry_after=90))
    assert await states(store) == {QUEUED: 2}
    again = await store.claim("me", NOW + 1.0, 1000, 10)
    assert [i.last_error for i in again] == ["rokt_retryable: Rokt answered HTTP 503: busy"]
    assert await store.claim("me", NOW + 89.9, 60, 10) == []
    assert len(await store.claim("me", NOW + 90, 60, 10)) == 1


@pytest.mark.parametrize(
    ("error", "prefix"),
    [
        (RoktRetryable("Rokt answered HTTP 503: busy"), "gave_up"),
        (RoktError("unexpected answer"), "gave_up"),
        (RoktAuthFailed("invalid credentials: Rokt refused client ID 'cid'"), "auth_failed"),
    ],
)
async def test_the_last_attempt_ends_dead_with_a_prefixed_reason(
    store: SQLiteStore, error: RoktError, prefix: str
) -> None:
    outcomes = Outcomes(store, clock=lambda: NOW)
    (tired, fresh) = await claimed(store, 2)
    tired = dataclasses.replace(tired, attempts=MAX_ATTEMPTS)
    await outcomes.retry([tired, fresh], error)
    assert await states(store) == {DEAD: 1, QUEUED: 1}
    (dead,) = await store.recent_dead()
    assert dead.reason == f"{prefix}: after {MAX_ATTEMPTS} attempts: {error.message}"
    assert dead.reason.partition(":")[0] in DEAD_PREFIXES


async def test_requeue_is_due_at_once(store: SQLiteStore) -> None:
    outcomes = Outcomes(store, clock=lambda: NOW)
    items = await claimed(store, 2)
    await outcomes.requeue(items, "lease_expired: later")
    assert await store.next_due_at() == NOW
    assert len(await store.claim("other", NOW, 60, 10)) == 2


async def test_an_owner_whose_lease_was_taken_over_changes_nothing(store: SQLiteStore) -> None:
    mine = Outcomes(store, owner="me", clock=lambda: NOW + 61)
    items = await claimed(store, 2)
    taken = await store.claim("other", NOW + 61, 60, 10)  # my 60 s lease ran out
    assert len(taken) == 2
    await mine.settle(items, None)
    await mine.settle(items, RoktRejected("no"))
    assert await states(store) == {"sending": 2}
    await Outcomes(store, owner="other", clock=lambda: NOW + 62).settle(taken, None)
    assert await states(store) == {SENT: 2}
