"""The inbox contract: SQLite and PostgreSQL pass the same tests."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from activity.errors import StorageUnavailable
from activity.storage.base import Store
from activity.storage.inbox import (
    HELD,
    Changes,
    EventActivity,
    NewWebhook,
    WebhookEndpoint,
    lww_merge,
)
from activity.storage.models import DEAD, QUEUED, SENDING, SENT


def hook(n: int, sub: str = "", mid: str = "100", **changes: tuple[object, float]) -> NewWebhook:
    return NewWebhook(
        mid, f"wh-{n}", "Subscribe", sub or f"sub-{n}", changes or {"Email": (f"a{n}@x", 1.0)}
    )


async def test_accept_is_durable_and_deduplicated(store: Store, tmp_path: Path) -> None:
    assert await store.inbox.accept(hook(1), 10.0)
    assert not await store.inbox.accept(hook(1, Email=("other", 9.0)), 11.0)
    # The same eventId for another business unit is another webhook.
    assert await store.inbox.accept(hook(1, mid="200"), 11.0)
    items = await store.inbox.claim("w", 20.0, 30.0, 10)
    assert [(i.mid, i.webhook_id, dict(i.changes)) for i in items] == [
        ("100", "wh-1", {"Email": ("a1@x", 1.0)}),
        ("200", "wh-1", {"Email": ("a1@x", 1.0)}),
    ]
    assert {i.state for i in items} == {SENDING} and {i.attempts for i in items} == {1}


async def test_claim_leases_and_expired_leases_come_back(store: Store) -> None:
    for n in range(5):
        await store.inbox.accept(hook(n), 10.0)
    first = await store.inbox.claim("a", 10.0, 30.0, 3)
    second = await store.inbox.claim("b", 10.0, 30.0, 10)
    assert len(first) == 3 and len(second) == 2
    assert not {i.id for i in first} & {i.id for i in second}
    assert await store.inbox.claim("c", 20.0, 30.0, 10) == []
    taken = await store.inbox.claim("c", 41.0, 30.0, 10)  # the leases ran out
    assert sorted(i.id for i in taken) == sorted(i.id for i in [*first, *second])
    assert {i.attempts for i in taken} == {2}
    # The old owner's outcome no longer counts.
    await store.inbox.mark_sent([first[0].id], 42.0, owner="a")
    assert (await store.inbox.counts()) == {SENDING: 5}


async def test_done_retry_dead(store: Store) -> None:
    for n in range(3):
        await store.inbox.accept(hook(n), 10.0)
    a, b, c = await store.inbox.claim("w", 10.0, 30.0, 10)
    await store.inbox.mark_sent([a.id], 11.0, owner="w")
    await store.inbox.mark_retry([b.id], 11.0, 50.0, "HTTP 503", owner="w")
    await store.inbox.mark_dead([c.id], 11.0, "10000: bad row", owner="w")
    assert await store.inbox.counts("100") == {SENT: 1, QUEUED: 1, DEAD: 1}
    assert await store.inbox.depth() == 1
    assert await store.inbox.next_due_at() == 50.0
    assert await store.inbox.claim("w", 49.0, 30.0, 10) == []
    again = await store.inbox.claim("w", 50.0, 30.0, 10)
    assert [(i.id, i.attempts, i.last_error) for i in again] == [(b.id, 2, "HTTP 503")]
    dead = await store.inbox.recent_dead("100")
    assert [(d.id, d.last_error) for d in dead] == [(c.id, "10000: bad row")]


async def test_hold_waits_for_unhold_and_costs_no_attempt(store: Store) -> None:
    await store.inbox.accept(hook(1), 10.0)
    await store.inbox.accept(hook(2, mid="200"), 10.0)
    items = await store.inbox.claim("w", 10.0, 30.0, 10)
    await store.inbox.hold([i.id for i in items], 11.0, "needs_sign_in", owner="w")
    assert await store.inbox.counts() == {HELD: 2}
    assert await store.inbox.depth() == 2
    assert await store.inbox.claim("w", 10_000.0, 30.0, 10) == []
    assert await store.inbox.next_due_at() is None
    assert sorted(await store.inbox.held_mids()) == ["100", "200"]
    assert await store.inbox.unhold("100", 12.0) == 1
    back = await store.inbox.claim("w", 12.0, 30.0, 10)
    assert [(i.mid, i.attempts) for i in back] == [("100", 1)]


async def test_release_gives_back_uncounted(store: Store) -> None:
    await store.inbox.accept(hook(1), 10.0)
    await store.inbox.claim("w", 10.0, 30.0, 10)
    await store.inbox.release("w")
    (item,) = await store.inbox.claim("x", 10.0, 30.0, 10)
    assert item.attempts == 1


async def test_merge_newest_wins_in_any_order(store: Store) -> None:
    subscribe: Changes = {
        "Email": ("a@x", 5.0),
        "RemovedDateTime": (None, 5.0),
        "countryCode": ("US", 5.0),
    }
    unsubscribe: Changes = {
        "RemovedDateTime": ("2020-05-06T01:18:49", 9.0),
        "countryCode": ("NZ", 0.0),
    }
    update: Changes = {"Email": ("b@x", 7.0)}
    results = []
    for n, order in enumerate(itertools.permutations([subscribe, unsubscribe, update])):
        sub = f"sub-{n}"
        for change in order:  # one merge per webhook, as separate sync rounds would do
            await store.inbox.merge("100", {sub: [change]}, 1.0)
        (row,) = await store.inbox.merge("100", {sub: []}, 1.0)
        results.append(row.values)
    assert (
        results
        == [{"Email": "b@x", "RemovedDateTime": "2020-05-06T01:18:49", "countryCode": "US"}] * 6
    )


async def test_merge_versions_change_only_when_the_state_does(store: Store) -> None:
    (first,) = await store.inbox.merge("100", {"s": [{"Email": ("a", 1.0)}]}, 1.0)
    (same,) = await store.inbox.merge("100", {"s": [{"Email": ("z", 0.5)}]}, 2.0)
    (newer,) = await store.inbox.merge("100", {"s": [{"Email": ("c", 3.0)}]}, 3.0)
    assert (first.version, same.version, newer.version) == (1, 1, 2)
    assert same.values == {"Email": "a"}
    assert await store.inbox.versions("100", ["s", "unknown"]) == {"s": 2}


async def test_concurrent_merges_lose_nothing(store: Store) -> None:
    changes = [{f"f{n}": (n, float(n))} for n in range(20)]
    await asyncio.gather(*(store.inbox.merge("100", {"s": [c]}, 1.0) for c in changes))
    (row,) = await store.inbox.merge("100", {"s": []}, 1.0)
    assert row.values == {f"f{n}": n for n in range(20)}


async def test_endpoints_and_event_activity(store: Store) -> None:
    await store.inbox.put_endpoint(WebhookEndpoint("100", "h1", b"enc1", 1.0))
    await store.inbox.put_endpoint(WebhookEndpoint("100", "h2", b"enc2", 2.0))
    assert [(e.token_hash, e.mid) for e in await store.inbox.list_endpoints()] == [("h2", "100")]
    assert (await store.inbox.get_endpoint("100")) == WebhookEndpoint("100", "h2", b"enc2", 2.0)
    await store.inbox.put_endpoint(WebhookEndpoint("050", "h3", b"enc3", 3.0))
    assert [e.mid for e in await store.inbox.list_endpoints()] == ["050", "100"]
    # Re-encryption replaces only the ciphertext it was read as; the hash (the URL) stays.
    assert not await store.inbox.reencrypt_endpoint("100", b"enc1", b"new")
    assert await store.inbox.reencrypt_endpoint("100", b"enc2", b"new2")
    assert (await store.inbox.get_endpoint("100")) == WebhookEndpoint("100", "h2", b"new2", 2.0)
    assert {e.token_hash: e.mid for e in await store.inbox.list_endpoints()}["h2"] == "100"
    assert not await store.inbox.reencrypt_endpoint("999", b"enc2", b"x")
    for n, sub in enumerate(["s1", "s2", "s2"]):
        assert await store.inbox.record_event(
            EventActivity("100", f"w{n}", "ev-1", "SubscriptionEventRemoved", sub), 5.0
        )
    assert not await store.inbox.record_event(
        EventActivity("100", "w0", "ev-1", "SubscriptionEventRemoved", "s9"), 6.0
    )
    counts = await store.inbox.event_counts("100")
    assert [(c.event_id, c.event_type, c.subscribers) for c in counts] == [
        ("ev-1", "SubscriptionEventRemoved", 2)
    ]


def test_lww_merge_ties_are_order_independent() -> None:
    a, b = {}, {}  # type: ignore[var-annotated]
    lww_merge(a, {"x": ("p", 1.0)})
    lww_merge(a, {"x": ("q", 1.0)})
    lww_merge(b, {"x": ("q", 1.0)})
    lww_merge(b, {"x": ("p", 1.0)})
    assert a == b == {"x": ["q", 1.0]}


async def test_prune_deletes_only_old_finished_items(store: Store) -> None:
    for n in range(4):
        await store.inbox.accept(hook(n), 10.0)
    a, b, c, _ = await store.inbox.claim("w", 10.0, 30.0, 10)
    await store.inbox.mark_sent([a.id], 11.0, owner="w")
    await store.inbox.mark_dead([b.id], 11.0, "x", owner="w")
    await store.inbox.mark_sent([c.id], 50.0, owner="w")
    assert await store.inbox.prune(20.0, 100) == 2
    assert await store.inbox.counts() == {SENT: 1, SENDING: 1}
    # Pruned eventIds are no longer deduplicated: retention outlives Rokt's 30 minutes of retries.
    assert await store.inbox.accept(hook(0), 60.0)


async def test_concurrent_accepts_share_transactions_and_still_dedupe(store: Store) -> None:
    hooks = [hook(n % 40) for n in range(60)]  # 20 repeats among them
    results = await asyncio.gather(*(store.inbox.accept(h, 10.0) for h in hooks))
    assert results == [True] * 40 + [False] * 20
    assert await store.inbox.counts() == {QUEUED: 40}


async def test_one_refused_webhook_in_a_batch_fails_alone(store: Store) -> None:
    bad = NewWebhook("100", "wh-bad", "Subscribe", "s", {"Email": ("\ud800", 1.0)})
    results = await asyncio.gather(
        store.inbox.accept(hook(1), 10.0),
        store.inbox.accept(bad, 10.0),
        store.inbox.accept(hook(2), 10.0),
        return_exceptions=True,
    )
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], StorageUnavailable)
    assert await store.inbox.counts() == {QUEUED: 2}
