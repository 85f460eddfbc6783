"""The Store contract: SQLite and PostgreSQL pass the same tests."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from activity.errors import StorageUnavailable
from activity.storage.base import Store
from activity.storage.models import (
    DEAD,
    QUEUED,
    SENDING,
    SENT,
    Answer,
    AuditEntry,
    DeliveryCount,
    LifecycleCall,
    NewItem,
    OutboxDepth,
    StoredSettings,
)

QUEUED_ANSWER = Answer(200, {"roktStatus": "queued", "roktEventId": "e1", "roktError": ""})


def unit(mid: str = "100", **overrides: Any) -> StoredSettings:
    values: dict[str, Any] = {
        "mid": mid,
        "account_code": f"acct-{mid}",
        "client_id": f"client-{mid}",
        "secret_token": b"\x00encrypted\xff" + mid.encode(),
        "account_id": f"id-{mid}",
        "enterprise_id": "E1",
        "updated_at": 1000.0,
        "updated_by": "admin@example.com",
    }
    values.update(overrides)
    return StoredSettings(**values)


def audit(mid: str = "100", action: str = "save", at: float = 1000.0) -> AuditEntry:
    return AuditEntry(mid, at, "user-1", "admin@example.com", action, f"{action} {mid}")


def item(n: int = 0, **overrides: Any) -> NewItem:
    values: dict[str, Any] = {
        "mid": "100",
        "account_code": "acct-100",
        "action": "create",
        "batch_key": "batch-a",
        "payload": {"eventId": f"e{n}", "title": "Launch ✓", "nested": {"n": n}},
        "subscription_ids": (f"sub-{n}", f"sub-{n}-b"),
        "event_id": f"e{n}",
        "journey_id": "journey-1",
        "activity_id": "activity-1",
        "definition_instance_id": f"instance-{n}",
        "contact_key": f"contact-{n}",
    }
    values.update(overrides)
    return NewItem(**values)


async def enqueue(store: Store, count: int, now: float = 100.0) -> None:
    """Accept `count` contacts with one item each (ids 1..count on a fresh store)."""
    for n in range(count):
        _, new = await store.accept("activity-1", f"instance-{n}", QUEUED_ANSWER, [item(n)], now)
        assert new


async def claim_all(store: Store, owner: str = "w1", now: float = 100.0) -> list[int]:
    return [i.id for i in await store.claim(owner, now, 30.0, 1000)]


# --- settings -------------------------------------------------------------------------------


async def test_settings_round_trip_and_overwrite(store: Store) -> None:
    assert await store.get_settings("100") is None
    await store.put_settings(unit("100"), audit("100"))
    await store.put_settings(unit("200", enterprise_id="E2"), audit("200"))
    assert await store.get_settings("100") == unit("100")
    assert [s.mid for s in await store.list_settings()] == ["100", "200"]

    changed = unit("100", account_code="new", secret_token=b"rotated", updated_at=2000.0)
    await store.put_settings(changed, audit("100", at=2000.0))
    assert await store.get_settings("100") == changed
    assert len(await store.list_settings()) == 2


async def test_one_enterprise_default_per_enterprise(store: Store) -> None:
    assert await store.get_enterprise_default("E1") is None
    await store.put_settings(unit("100", is_enterprise_default=True), audit("100"))
    await store.put_settings(unit("300", enterprise_id="E2", is_enterprise_default=True), audit())
    assert (await store.get_enterprise_default("E1")).mid == "100"  # type: ignore[union-attr]

    await store.put_settings(unit("200", is_enterprise_default=True, updated_at=1.0), audit())
    assert (await store.get_enterprise_default("E1")).mid == "200"  # type: ignore[union-attr]
    assert not (await store.get_settings("100")).is_enterprise_default  # type: ignore[union-attr]
    assert (await store.get_enterprise_default("E2")).mid == "300"  # type: ignore[union-attr]
    assert await store.get_enterprise_default("E3") is None


async def test_delete_settings_and_audit_log(store: Store) -> None:
    await store.put_settings(unit("100"), audit("100", "save", 1.0))
    await store.put_settings(unit("100"), audit("100", "update", 2.0))
    await store.put_settings(unit("200"), audit("200", "save", 3.0))
    assert await store.delete_settings("100", audit("100", "delete", 4.0))
    assert not await store.delete_settings("100", audit("100", "delete-again", 5.0))
    assert await store.get_settings("100") is None

    log = await store.audit_log("100")
    assert [(e.action, e.at) for e in log] == [("delete", 4.0), ("update", 2.0), ("save", 1.0)]
    assert log[0] == audit("100", "delete", 4.0)
    assert [e.action for e in await store.audit_log("100", limit=1)] == ["delete"]
    assert [e.action for e in await store.audit_log("200")] == ["save"]


async def test_replace_secrets_counts_rows_changed(store: Store) -> None:
    await store.put_settings(unit("100"), audit("100"))
    await store.put_settings(unit("200"), audit("200"))
    assert await store.replace_secrets({}) == 0
    assert await store.replace_secrets({"100": b"new-100", "200": b"new-200", "999": b"x"}) == 2
    assert (await store.get_settings("100")).secret_token == b"new-100"  # type: ignore[union-attr]
    assert (await store.get_settings("200")).secret_token == b"new-200"  # type: ignore[union-attr]
    assert await store.get_settings("999") is None


# --- lifecycle records ----------------------------------------------------------------------


def call(route: str = "publish", version: str = "1", at: float = 10.0) -> LifecycleCall:
    return LifecycleCall(route, "obj-1", "journey-1", "def-1", "key-1", version, at)


async def test_lifecycle_repeats_are_counted(store: Store) -> None:
    await store.record_lifecycle(call(at=10.0))
    await store.record_lifecycle(call(at=20.0))
    await store.record_lifecycle(call(version="2", at=15.0))
    await store.record_lifecycle(call(route="stop", at=5.0))

    records = await store.list_lifecycle()
    assert [(r.route, r.interaction_version, r.calls) for r in records] == [
        ("publish", "1", 2),
        ("publish", "2", 1),
        ("stop", "1", 1),
    ]
    assert (records[0].first_seen, records[0].last_seen) == (10.0, 20.0)
    assert len(await store.list_lifecycle(limit=2)) == 2


# --- accept -------------------------------------------------------------------------------


async def test_accept_is_idempotent(store: Store) -> None:
    items = [item(1), item(2, batch_key="batch-b")]
    assert await store.accept("a", "i", QUEUED_ANSWER, items, 100.0) == (QUEUED_ANSWER, True)
    other = Answer(400, {"roktStatus": "invalid"})
    assert await store.accept("a", "i", other, [item(3)], 101.0) == (QUEUED_ANSWER, False)

    claimed = await store.claim("w1", 200.0, 30.0, 100)
    assert [(i.event_id, i.payload, i.subscription_ids) for i in claimed] == [
        ("e1", item(1).payload, ("sub-1", "sub-1-b")),
        ("e2", item(2).payload, ("sub-2", "sub-2-b")),
    ]
    first = claimed[0]
    assert (first.mid, first.account_code, first.action, first.batch_key) == (
        "100", "acct-100", "create", "batch-a",
    )  # fmt: skip
    assert (first.journey_id, first.contact_key, first.created_at) == (
        "journey-1", "contact-1", 100.0,
    )  # fmt: skip


async def test_accept_without_items_still_records_the_answer(store: Store) -> None:
    skipped = Answer(200, {"roktStatus": "skipped_no_subscription"})
    assert await store.accept("a", "i", skipped, [], 1.0) == (skipped, True)
    assert await store.accept("a", "i", QUEUED_ANSWER, [item()], 2.0) == (skipped, False)
    assert await store.claim("w1", 10.0, 30.0, 10) == []
    assert await store.accept("a", "other", QUEUED_ANSWER, [], 3.0) == (QUEUED_ANSWER, True)


async def test_concurrent_repeats_of_one_key_accept_once(store: Store) -> None:
    answers = [Answer(200, {"n": n}) for n in range(30)]
    results = await asyncio.gather(
        *(store.accept("a", "same", a, [item(n)], 100.0) for n, a in enumerate(answers))
    )
    assert sum(new for _, new in results) == 1
    winner = next(answer for answer, new in results if new)
    assert all(answer == winner for answer, _ in results)
    claimed = await store.claim("w1", 100.0, 30.0, 100)
    assert [i.event_id for i in claimed] == [f"e{winner.body['n']}"]


async def test_concurrent_accepts_of_many_keys_all_land(store: Store) -> None:
    results = await asyncio.gather(
        *(store.accept("a", f"k{n}", QUEUED_ANSWER, [item(n), item(n)], 100.0) for n in range(60))
    )
    assert all(new for _, new in results)
    assert (await store.outbox_depth(100.0)).pending == 120


async def test_an_unstorable_item_fails_alone_in_its_group_commit(store: Store) -> None:
    """A lone surrogate cannot be encoded as UTF-8 text on either backend. Whatever validation
    lets through by mistake, its neighbours in the same transaction must still land."""
    bad = item(999, contact_key="bad\ud800")
    results = await asyncio.gather(
        *(store.accept("a", f"k{n}", QUEUED_ANSWER, [item(n)], 100.0) for n in range(30)),
        store.accept("a", "k-bad", QUEUED_ANSWER, [bad], 100.0),
        *(store.accept("a", f"j{n}", QUEUED_ANSWER, [item(n)], 100.0) for n in range(30)),
        return_exceptions=True,
    )
    assert isinstance(results[30], StorageUnavailable)
    assert [r for n, r in enumerate(results) if n != 30] == [(QUEUED_ANSWER, True)] * 60
    assert (await store.outbox_depth(100.0)).pending == 60
    assert await store.find_answer("a", "k-bad") is None


async def test_find_answer_reads_the_answer_on_record_and_nothing_else(store: Store) -> None:
    subscribed = Answer(
        200,
        {
            "roktStatus": "subscribed",
            "roktSubscriptionId": "5f0c",
            "roktSubscriptionUrl": "webcal://x/ü",
            "roktError": "",
        },
    )
    assert await store.find_answer("a", "i") is None
    await store.accept("a", "i", subscribed, [], 1.0)
    assert await store.find_answer("a", "i") == subscribed
    assert await store.find_answer("a", "other") is None
    assert await store.find_answer("other", "i") is None
    assert await store.claim("w1", 10.0, 30.0, 10) == []


async def test_accept_after_close_is_unavailable(store: Store) -> None:
    await store.close()
    with pytest.raises(StorageUnavailable):
        await store.accept("a", "i", QUEUED_ANSWER, [item()], 1.0)


# --- claim and leases ---------------------------------------------------------------------


async def test_claim_leases_due_items_once(store: Store) -> None:
    await enqueue(store, 3, now=100.0)
    assert await store.claim("w1", 99.0, 30.0, 10) == []  # not due yet

    first = await store.claim("w1", 100.0, 30.0, 2)
    assert [(i.id, i.state, i.attempts) for i in first] == [(1, SENDING, 1), (2, SENDING, 1)]
    assert [i.id for i in await store.claim("w2", 101.0, 30.0, 10)] == [3]
    assert await store.claim("w2", 129.0, 30.0, 10) == []  # all leased

    # w1 died: after its lease ends another worker takes its items, counting the attempt.
    again = await store.claim("w2", 130.5, 30.0, 10)
    assert [(i.id, i.attempts) for i in again] == [(1, 2), (2, 2)]


async def test_concurrent_claimers_get_disjoint_items(store: Store) -> None:
    await enqueue(store, 40)
    batches = await asyncio.gather(*(claim_batch(store, f"w{n}") for n in range(8)))
    ids = [i for batch in batches for i in batch]
    assert len(ids) == len(set(ids)) == 40


async def claim_batch(store: Store, owner: str) -> list[int]:
    return [i.id for i in await store.claim(owner, 100.0, 30.0, 5)]


async def test_mark_sent(store: Store) -> None:
    await enqueue(store, 2)
    await store.mark_sent([], 1.0)
    ids = await claim_all(store)
    await store.mark_sent(ids[:1], 150.0)
    counts = await store.delivery_counts()
    assert {(c.state, c.count) for c in counts} == {(SENT, 1), (SENDING, 1)}
    # Sent is final: only the unfinished item comes back once the leases end.
    assert [i.id for i in await store.claim("w2", 500.0, 30.0, 10)] == ids[1:]


async def test_maybe_sent_is_kept_across_claims_and_cleared_on_request(store: Store) -> None:
    await enqueue(store, 3)
    ids = await claim_all(store)
    assert all(i.maybe_sent_at is None for i in await store.claim("w9", 500.0, 30.0, 10))
    await store.mark_maybe_sent(ids[:2], 101.5, owner="w9")  # w9 holds the leases now
    await store.mark_maybe_sent(ids[2:], 102.0, owner="someone-else")  # not theirs: no change
    await store.mark_retry(ids, 103.0, 103.0, "rokt_retryable: timeout")
    again = {i.id: i.maybe_sent_at for i in await store.claim("w1", 600.0, 30.0, 10)}
    assert again == {ids[0]: 101.5, ids[1]: 101.5, ids[2]: None}
    await store.mark_maybe_sent(ids[:1], None)
    await store.mark_retry(ids, 601.0, 601.0, "again")
    again = {i.id: i.maybe_sent_at for i in await store.claim("w1", 700.0, 30.0, 10)}
    assert again == {ids[0]: None, ids[1]: 101.5, ids[2]: None}


async def test_mark_sent_with_a_note_is_sent(store: Store) -> None:
    await enqueue(store, 2)
    ids = await claim_all(store)
    note = "sent: Rokt answered 404 to a repeat after an unanswered try"
    await store.mark_sent(ids[:1], 150.0, note=note, owner="w1")
    await store.mark_sent(ids[1:], 150.0)
    counts = await store.delivery_counts()
    assert {(c.state, c.count) for c in counts} == {(SENT, 2)}
    assert await store.recent_dead() == []
    assert await store.claim("w2", 900.0, 30.0, 10) == []


async def test_mark_retry_requeues_for_later(store: Store) -> None:
    await enqueue(store, 1)
    ids = await claim_all(store)
    await store.mark_retry(ids, 101.0, 160.0, "429 Too Many Requests")
    assert await store.next_due_at() == 160.0
    assert await store.claim("w1", 159.0, 30.0, 10) == []
    again = await store.claim("w2", 160.0, 30.0, 10)
    assert [(i.id, i.attempts, i.last_error, i.state) for i in again] == [
        (ids[0], 2, "429 Too Many Requests", SENDING)
    ]
    await store.mark_sent(ids, 161.0)
    assert await store.recent_dead() == []
    assert (await store.delivery_counts())[0].state == SENT


async def test_mark_dead_is_final_and_visible(store: Store) -> None:
    await enqueue(store, 2)
    ids = await claim_all(store)
    await store.mark_dead(ids, 120.0, "400: bad subscription id")
    assert await store.claim("w1", 10_000.0, 30.0, 10) == []
    dead = await store.recent_dead()
    assert [(d.id, d.reason, d.at, d.event_id, d.contact_key) for d in dead] == [
        (2, "400: bad subscription id", 120.0, "e1", "contact-1"),
        (1, "400: bad subscription id", 120.0, "e0", "contact-0"),
    ]


async def test_give_back_is_due_at_once_and_uncounts_the_claims_attempt(store: Store) -> None:
    await enqueue(store, 3)
    ids = await claim_all(store, "w1")
    await store.mark_retry(ids[2:], 101.0, 101.0, "503")  # tried: its attempt stands
    await store.give_back(ids[:1], 101.0, "lease_expired: next round", owner="w2")  # not w2's
    await store.give_back(ids[:2], 101.0, "lease_expired: next round", owner="w1")
    assert await store.next_due_at() == 101.0
    again = await store.claim("w1", 101.0, 30.0, 10)
    assert [(i.id, i.attempts, i.last_error) for i in again] == [
        (ids[0], 1, "lease_expired: next round"),
        (ids[1], 1, "lease_expired: next round"),
        (ids[2], 2, "503"),
    ]


async def test_release_gives_back_only_the_owners_leases(store: Store) -> None:
    await enqueue(store, 4)
    mine = [i.id for i in await store.claim("w1", 100.0, 30.0, 2)]
    theirs = [i.id for i in await store.claim("w2", 100.0, 30.0, 2)]
    await store.release("w1")
    # Given back untried: claiming them again is their first attempt, not their second.
    again = await store.claim("w3", 101.0, 30.0, 10)
    assert [(i.id, i.attempts) for i in again] == [(n, 1) for n in mine]
    assert await store.claim("w4", 129.0, 30.0, 10) == []  # w2 and w3 still hold theirs
    assert [i.id for i in await store.claim("w4", 131.5, 30.0, 10)] == sorted(mine + theirs)


async def test_owner_guard_ignores_a_worker_whose_lease_ran_out(store: Store) -> None:
    await enqueue(store, 2)
    ids = await claim_all(store, "slow", now=100.0)
    taken = await store.claim("fast", 200.0, 30.0, 10)  # the slow worker's leases expired
    await store.mark_sent(ids[:1], 201.0, owner="fast")
    await store.mark_retry(ids, 202.0, 900.0, "late timeout", owner="slow")
    await store.mark_dead(ids, 202.0, "late 400", owner="slow")
    await store.mark_sent(ids, 202.0, owner="slow")
    assert {(c.state, c.count) for c in await store.delivery_counts()} == {(SENT, 1), (SENDING, 1)}
    await store.mark_retry(ids[1:], 203.0, 210.0, "503", owner="fast")
    again = await store.claim("fast", 210.0, 30.0, 10)
    assert [(i.id, i.attempts, i.last_error) for i in again] == [(taken[1].id, 3, "503")]


async def test_next_due_at(store: Store) -> None:
    assert await store.next_due_at() is None
    await enqueue(store, 1, now=100.0)
    await store.accept("a", "earlier", QUEUED_ANSWER, [item(9)], 90.0)
    assert await store.next_due_at() == 90.0
    ids = await claim_all(store)
    assert await store.next_due_at() is None  # leased items are not waiting
    await store.mark_retry(ids[:1], 101.0, 300.0, "503")
    assert await store.next_due_at() == 300.0


# --- reporting -----------------------------------------------------------------------------


async def test_delivery_counts_with_and_without_mid(store: Store) -> None:
    await enqueue(store, 3)
    await store.accept("a", "x", QUEUED_ANSWER, [item(7, mid="200", journey_id="j2")], 100.0)
    ids = await claim_all(store)
    await store.mark_sent(ids[:2], 101.0)
    await store.mark_dead(ids[2:3], 101.0, "gone")
    await store.mark_retry(ids[3:], 101.0, 200.0, "later")

    assert await store.delivery_counts() == [
        DeliveryCount("j2", "activity-1", QUEUED, 1),
        DeliveryCount("journey-1", "activity-1", DEAD, 1),
        DeliveryCount("journey-1", "activity-1", SENT, 2),
    ]
    assert await store.delivery_counts("200") == [DeliveryCount("j2", "activity-1", QUEUED, 1)]
    assert await store.delivery_counts("nobody") == []


async def test_recent_dead_filters_and_limits(store: Store) -> None:
    await enqueue(store, 3)
    await store.accept("a", "x", QUEUED_ANSWER, [item(7, mid="200")], 100.0)
    ids = await claim_all(store)
    for n, item_id in enumerate(ids):
        await store.mark_dead([item_id], 110.0 + n, f"reason {n}")
    assert [d.reason for d in await store.recent_dead()] == [f"reason {n}" for n in (3, 2, 1, 0)]
    assert [d.reason for d in await store.recent_dead(limit=2)] == ["reason 3", "reason 2"]
    assert [d.reason for d in await store.recent_dead("100")] == [
        "reason 2",
        "reason 1",
        "reason 0",
    ]
    assert [d.reason for d in await store.recent_dead("200")] == ["reason 3"]


async def test_deliveries_over_time(store: Store) -> None:
    await enqueue(store, 5)
    await store.accept("a", "x", QUEUED_ANSWER, [item(7, mid="200")], 100.0)
    ids = await claim_all(store)
    for item_id, at in zip(ids, (100.0, 130.0, 185.0, 199.9, 250.0, 130.0), strict=True):
        await store.mark_sent([item_id], at)

    assert await store.deliveries_over_time(None, 0.0, 60) == [
        (60.0, 1),
        (120.0, 2),
        (180.0, 2),
        (240.0, 1),
    ]
    assert await store.deliveries_over_time("100", 120.0, 60) == [
        (120.0, 1),
        (180.0, 2),
        (240.0, 1),
    ]
    assert await store.deliveries_over_time("200", 0.0, 100) == [(100.0, 1)]
    assert await store.deliveries_over_time(None, 1000.0, 60) == []


async def test_outbox_depth(store: Store) -> None:
    assert await store.outbox_depth(100.0) == OutboxDepth(0, 0.0)
    await store.accept("a", "old", QUEUED_ANSWER, [item(1)], 40.0)
    await store.accept("a", "new", QUEUED_ANSWER, [item(2), item(3)], 70.0)
    assert await store.outbox_depth(100.0) == OutboxDepth(3, 60.0)

    leased = await store.claim("w1", 100.0, 30.0, 1)  # sending still counts as pending
    assert await store.outbox_depth(100.0) == OutboxDepth(3, 60.0)
    await store.mark_sent([leased[0].id], 101.0)
    assert await store.outbox_depth(100.0) == OutboxDepth(2, 30.0)


async def test_ping(store: Store) -> None:
    await store.ping()


# --- retention ------------------------------------------------------------------------------


async def test_prune_deletes_only_old_finished_work_in_chunks(store: Store) -> None:
    await enqueue(store, 6, now=100.0)  # ids 1..6, answers created at 100
    await store.accept("activity-1", "late", QUEUED_ANSWER, [item(9)], 500.0)  # id 7
    ids = await claim_all(store, now=150.0)
    await store.mark_sent(ids[:3], 200.0)  # 1..3 sent at 200
    await store.mark_dead([ids[3]], 200.0, "rejected: no")  # 4 dead at 200
    await store.mark_retry([ids[4]], 200.0, 210.0, "rokt_retryable: 503")  # 5 queued again
    # 6 stays leased (sending), 7 is queued: unfinished work is never pruned.
    assert await store.prune(before=300.0, limit=2) == 4  # 2 answers + 2 items
    assert await store.prune(before=300.0, limit=100) == 4 + 2  # 4 answers + 2 items
    assert await store.prune(before=300.0, limit=100) == 0
    counts = {c.state: c.count for c in await store.delivery_counts()}
    assert counts == {"queued": 2, "sending": 1}
    # The answer from 500 survives: a JB retry of it still gets the first answer.
    assert await store.accept("activity-1", "late", Answer(400, {}), [], 600.0) == (
        QUEUED_ANSWER, False,
    )  # fmt: skip
    # A pruned answer is forgotten: the same key is new again (retention bounds dedupe).
    assert (await store.accept("activity-1", "instance-0", QUEUED_ANSWER, [], 600.0))[1]
