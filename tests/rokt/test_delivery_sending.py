"""Sending one group: a 400 on a batch is split until the bad items stand alone, a refusal of
the whole call is not, per-subscription actions fail per subscription, calls are bounded."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from activity.devtools.jb import rokt_event
from activity.storage.models import DEAD, QUEUED, SENT
from tests.rokt.delivery_env import Env


async def test_a_400_inside_a_batch_isolates_the_bad_items(env: Env) -> None:
    subs = await env.enqueue(16)
    bad = {subs[3], subs[11]}
    env.fake.reject_subscriptions(*bad, reason="subscription is deactivated")
    await env.worker().run_once()
    assert await env.states() == {SENT: 14, DEAD: 2}
    good = sorted(set(subs) - bad)
    assert sorted(env.fake.subscription_ids_sent()) == good  # each exactly once
    dead = await env.store.recent_dead()
    assert {d.contact_key for d in dead} == {"contact-3", "contact-11"}
    for d in dead:
        assert d.reason.startswith("rejected: Rokt answered HTTP 400")
        assert "subscription is deactivated" in d.reason
    assert env.outcome("dead") == 2


async def test_a_rejection_of_the_whole_call_is_not_split(env: Env) -> None:
    await env.enqueue(8)
    env.fake.script("create", [403], body={"message": "account acme is suspended"})
    await env.worker().run_once()
    assert await env.states() == {DEAD: 8}
    assert len(env.fake.calls("create")) == 1
    dead = await env.store.recent_dead()
    assert {d.reason for d in dead} == {
        "rejected: Rokt answered HTTP 403: account acme is suspended"
    }


async def test_a_rejected_remove_kills_only_its_item(env: Env) -> None:
    subs = await env.enqueue(4, action="remove")
    env.fake.holders[("acme", "summer-sale")] = set(subs)
    env.fake.reject_subscriptions(subs[0])
    await env.worker().run_once()
    assert await env.states() == {SENT: 3, DEAD: 1}
    assert len(env.fake.calls("remove")) == 4


async def test_calls_to_rokt_are_bounded(env: Env) -> None:
    for i in range(12):
        await env.enqueue(2, payload=rokt_event(f"event-{i}"))
    env.fake.delay = 0.05
    await env.worker(concurrency=3).run_once()
    assert env.fake.max_in_flight <= 3
    assert await env.states() == {SENT: 24}


async def test_no_item_is_marked_as_possibly_sent_while_no_token_can_be_had(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A crash between a mark and its undoing would hold the items back for the whole resend
    # wait, although a failed token grant cannot have reached a calendar.
    marked: list[float | None] = []
    store_mark = env.store.mark_maybe_sent

    async def mark(ids: Sequence[int], at: float | None, *, owner: str | None = None) -> None:
        marked.append(at)
        await store_mark(ids, at, owner=owner)

    monkeypatch.setattr(env.store, "mark_maybe_sent", mark)
    await env.enqueue(3)
    removed = await env.enqueue(2, action="remove", payload=rokt_event("winter-sale"))
    env.fake.holders[("acme", "winter-sale")] = set(removed)
    env.fake.token_endpoint_down = True
    worker = env.worker()
    await worker.run_once()
    assert await env.states() == {QUEUED: 5}
    assert [at for at in marked if at is not None] == []
    assert env.fake.calls("create") == env.fake.calls("remove") == []
    env.fake.token_endpoint_down = False
    env.clock.now += 60
    await worker.run_once()
    assert await env.states() == {SENT: 5}
    assert [at for at in marked if at is not None] != []  # marked once a token was had
    assert env.fake.duplicates() == 0
