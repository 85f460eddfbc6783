"""Sending one group: a 400 on a batch is split until the bad items stand alone, a refusal of
the whole call is not, per-subscription actions fail per subscription, calls are bounded."""

from __future__ import annotations

from activity.devtools.jb import rokt_event
from activity.storage.models import DEAD, SENT
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
