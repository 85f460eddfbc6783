"""The operators' part of the Store contract (migration 0007): work waiting for a retry,
outcomes over time and journey names read the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from activity.storage.base import Store
from activity.storage.delivery_views import (
    FROM_LIFECYCLE,
    FROM_MARKETING_CLOUD,
    STATS_BUCKET_SECONDS,
    JourneyName,
    OutcomeBucket,
)
from activity.storage.models import Answer, NewItem

ANSWER = Answer(200, {"roktStatus": "queued"})
T0 = 1_800_000_000.0  # a multiple of 300 and of 3600
OWNER = "worker-a"


def item(n: int, **overrides: Any) -> NewItem:
    values: dict[str, Any] = {
        "mid": "100",
        "account_code": "acct",
        "action": "create",
        "batch_key": f"b{n}",
        "payload": {"eventId": f"e{n}"},
        "subscription_ids": (f"sub-{n}",),
        "event_id": f"e{n}",
        "journey_id": "journey-1",
        "activity_id": "activity-1",
        "definition_instance_id": f"i{n}",
        "contact_key": f"contact-{n}",
    }
    values.update(overrides)
    return NewItem(**values)


async def accept(store: Store, *items: NewItem, at: float = T0) -> None:
    for new in items:
        await store.accept(new.activity_id, new.definition_instance_id, ANSWER, [new], at)


async def claim_all(store: Store, at: float) -> dict[str, int]:
    """Claim everything due; event id -> item id."""
    return {i.event_id: i.id for i in await store.claim(OWNER, at, 60, 1000)}


async def test_failed_attempts_wait_as_retries_with_their_error_and_next_attempt(
    store: Store,
) -> None:
    await accept(store, item(1), item(2), item(3, activity_id="activity-2"), item(4, mid="200"))
    ids = await claim_all(store, T0)
    await store.mark_retry([ids["e1"]], T0 + 1, T0 + 30, "rokt_retryable: HTTP 503", owner=OWNER)
    await store.mark_retry([ids["e2"]], T0 + 2, T0 + 20, "timeout: no answer", owner=OWNER)
    await store.mark_retry([ids["e4"]], T0 + 3, T0 + 40, "rokt_retryable: HTTP 502", owner=OWNER)
    await store.mark_sent([ids["e3"]], T0 + 1, owner=OWNER)
    # e2 fails a second time: its attempt count is two.
    again = await claim_all(store, T0 + 21)
    assert set(again) == {"e2"}
    await store.mark_retry([again["e2"]], T0 + 22, T0 + 90, "rokt_retryable: HTTP 429", owner=OWNER)

    waiting = await store.retrying_items("100")
    assert [(w.event_id, w.attempts, w.last_error, w.next_attempt_at) for w in waiting] == [
        ("e1", 1, "rokt_retryable: HTTP 503", T0 + 30),
        ("e2", 2, "rokt_retryable: HTTP 429", T0 + 90),
    ]
    assert waiting[0].contact_key == "contact-1" and waiting[0].updated_at == T0 + 1
    assert [w.event_id for w in await store.retrying_items(None)] == ["e1", "e4", "e2"]
    assert len(await store.retrying_items(None, limit=1)) == 1

    (summary,) = await store.retry_summary("100")
    assert (summary.journey_id, summary.activity_id) == ("journey-1", "activity-1")
    assert (summary.waiting, summary.max_attempts) == (2, 2)
    assert summary.next_attempt_at == T0 + 30
    assert summary.last_error == "rokt_retryable: HTTP 429"  # e2 failed last
    assert summary.last_failed_at == T0 + 22
    assert [s.waiting for s in await store.retry_summary(None)] == [3]  # both units
    assert await store.retry_summary("300") == []


async def test_items_not_retrying_are_not_listed(store: Store) -> None:
    await accept(store, item(1), item(2), item(3), item(4))
    ids = await claim_all(store, T0)
    await store.mark_dead([ids["e1"]], T0 + 1, "rejected: HTTP 400", owner=OWNER)
    await store.mark_sent([ids["e2"]], T0 + 1, owner=OWNER)
    # never tried (the round ran out of lease): due again at once, its attempt uncounted
    await store.give_back([ids["e3"]], T0 + 1, "lease_expired: not sent", owner=OWNER)
    # e4 stays leased (sending)
    assert await store.retrying_items("100") == []
    assert await store.retry_summary("100") == []


async def test_a_stale_worker_retry_changes_and_counts_nothing(store: Store) -> None:
    await accept(store, item(1))
    ids = await claim_all(store, T0)
    await store.mark_retry([ids["e1"]], T0 + 1, T0 + 5, "boom", owner="someone-else")
    assert await store.retrying_items("100") == []
    buckets = await store.outcomes_over_time("100", T0, STATS_BUCKET_SECONDS)
    assert all(b.retried == 0 for b in buckets)


async def test_outcomes_over_time_count_sent_retried_and_dead_per_bucket(store: Store) -> None:
    step = STATS_BUCKET_SECONDS
    await accept(store, *(item(n) for n in range(6)), item(9, mid="200"))
    ids = await claim_all(store, T0)
    await store.mark_sent([ids["e0"], ids["e1"]], T0 + 10, owner=OWNER)
    await store.mark_retry([ids["e2"], ids["e3"]], T0 + 20, T0 + step, "503", owner=OWNER)
    await store.mark_dead([ids["e4"]], T0 + step + 5, "rejected: 400", owner=OWNER)
    await store.mark_retry([ids["e9"]], T0 + 20, T0 + step, "503", owner=OWNER)
    # the retried pair comes back in the next bucket: one is sent, one fails again
    again = await claim_all(store, T0 + step)
    await store.mark_sent([again["e2"]], T0 + step + 1, owner=OWNER)
    await store.mark_retry([again["e3"]], T0 + step + 2, T0 + 9 * step, "503", owner=OWNER)

    got = await store.outcomes_over_time("100", T0, step)
    assert got == [
        OutcomeBucket(T0, sent=2, retried=2, dead=0),
        OutcomeBucket(T0 + step, sent=1, retried=1, dead=1),
    ]
    hourly = await store.outcomes_over_time("100", T0, 3600)
    assert hourly == [OutcomeBucket(T0, sent=3, retried=3, dead=1)]
    everyone = await store.outcomes_over_time(None, T0, 3600)
    assert everyone == [OutcomeBucket(T0, sent=3, retried=4, dead=1)]
    assert await store.outcomes_over_time("100", T0 + 2 * step, step) == []


async def test_retry_counts_are_pruned_with_finished_work(store: Store) -> None:
    await accept(store, item(1))
    ids = await claim_all(store, T0)
    await store.mark_retry([ids["e1"]], T0, T0 + 1, "503", owner=OWNER)
    await store.prune(T0 + 3600, 100)
    assert await store.outcomes_over_time("100", T0 - 3600, 3600) == []
    assert len(await store.retrying_items("100")) == 1  # the item itself waits on


async def test_journey_names_are_stored_replaced_and_read_by_id(store: Store) -> None:
    assert await store.journey_names([]) == {}
    first = JourneyName("j-1", "Welcome series", "welcome", "1", FROM_LIFECYCLE, T0)
    await store.put_journey_name(first)
    await store.put_journey_name(JourneyName("j-2", "Spring ✓ “sale”", "", "", FROM_LIFECYCLE, T0))
    assert await store.journey_names(["j-1", "j-1", "missing"]) == {"j-1": first}
    renamed = JourneyName("j-1", "Welcome v2", "welcome", "2", FROM_MARKETING_CLOUD, T0 + 5)
    await store.put_journey_name(renamed)
    names = await store.journey_names(["j-1", "j-2"])
    assert names["j-1"] == renamed
    assert names["j-2"].name == "Spring ✓ “sale”"
