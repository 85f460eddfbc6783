"""Sends that may have reached Rokt are checked before they go out again (SQLite and PostgreSQL).

The worker runs against the fake Rokt over HTTP; the fake acts on a request before its slow
answer leaves and counts events attached twice to one subscription.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.fernet import Fernet

from activity.admin.settings_service import Actor, SettingsService
from activity.crypto import Keyring
from activity.devtools.fake_rokt import FakeRokt, start_fake_rokt
from activity.devtools.jb import rokt_event
from activity.rokt.client import RoktClient
from activity.rokt.delivery import DeliveryWorker
from activity.rokt.delivery_sending import GONE_NOTE
from activity.rokt.resend import FOUND_NOTE, lists_event
from activity.rokt.token_cache import TokenCache
from activity.storage.base import Store
from activity.storage.models import DEAD, QUEUED, SENT, Answer, NewItem
from tests.backends import BACKENDS, open_store
from tests.clock import Clock

MID = "500000001"
# The worker's Rokt timeout in these tests; the fake answers slower. Every call shares it, the
# token grant too, so it leaves room for a busy CI machine (0.3 s once timed out the grant).
TIMEOUT = 1.0


@dataclass
class Env:
    fake: FakeRokt
    store: Store
    http: aiohttp.ClientSession
    url: str
    service: SettingsService
    clock: Clock

    def worker(self, **kw: Any) -> DeliveryWorker:
        client = RoktClient(self.http, self.url, TokenCache(self.http, self.url))
        kw.setdefault("rand", lambda: 0.0)
        return DeliveryWorker(self.store, self.service, client, clock=self.clock, **kw)

    async def enqueue(self, n: int, action: str = "create") -> list[str]:
        subs = [str(uuid.uuid4()) for _ in range(n)]
        for sub in subs:
            item = NewItem(
                mid=MID,
                account_code="acme",
                action=action,
                batch_key=f"{action}:summer-sale",
                payload=rokt_event(),
                subscription_ids=(sub,),
                event_id="summer-sale",
                definition_instance_id=sub,
                contact_key=f"contact-{sub}",
            )
            answer = Answer(200, {"roktStatus": "queued"})
            await self.store.accept("activity-1", sub, answer, [item], self.clock())
        return subs

    async def states(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in await self.store.delivery_counts():
            counts[row.state] = counts.get(row.state, 0) + row.count
        return counts


@pytest.fixture(params=BACKENDS)
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    store = await open_store(request.param, request, tmp_path)
    fake, rokt_url, runner = await start_fake_rokt(client_id="cid", client_secret="csecret")
    service = SettingsService(store, Keyring([Fernet.generate_key().decode()]))
    await service.save(
        mid=MID, account_code="acme", client_id="cid", client_secret="csecret", actor=Actor()
    )
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http:
        yield Env(fake, store, http, rokt_url, service, Clock(1_900_000_000.0))
    await runner.cleanup()
    await store.close()


def slow(env: Env, endpoint: str = "create", calls: int = 1) -> None:
    """The next `calls` to `endpoint` are acted on but answered after the client gave up."""
    env.fake.script(endpoint, [None] * calls, delay=TIMEOUT * 2)


async def slow_then_normal(env: Env, worker: DeliveryWorker) -> None:
    """One round against a Rokt slower than the timeout, then rounds until nothing is due."""
    slow(env)
    await worker.run_once()
    for _ in range(5):
        env.clock.now += 60
        await worker.run_once()


async def test_a_create_that_timed_out_is_checked_not_repeated(env: Env) -> None:
    subs = await env.enqueue(20)
    worker = env.worker()
    await slow_then_normal(env, worker)
    assert await env.states() == {SENT: 20}
    assert env.fake.duplicates() == 0
    assert sorted(env.fake.subscription_ids_sent()) == sorted(subs)  # each once
    assert len(env.fake.calls("subscription")) == 20  # one look per subscription


async def test_without_the_check_every_timed_out_create_goes_twice(env: Env) -> None:
    # The figure the check is measured against: the same fault with the check turned off.
    await env.enqueue(20)
    worker = env.worker(check_before_resend=False)
    await slow_then_normal(env, worker)
    assert await env.states() == {SENT: 20}
    assert env.fake.duplicates() == 20


async def test_not_listed_yet_waits_for_rokts_processing_then_sends_only_the_missing(
    env: Env,
) -> None:
    subs = await env.enqueue(4)
    env.fake.processing_delay = 1e9  # Rokt has accepted them but lists nothing yet
    worker = env.worker(visibility_wait_seconds=600, recheck_seconds=120)
    slow(env)
    await worker.run_once()
    env.clock.now += 60
    await worker.run_once()  # looks, finds nothing listed, waits
    assert await env.states() == {QUEUED: 4}
    assert len(env.fake.calls("create")) == 1
    (due,) = {i.next_attempt_at for i in await env.store.claim("peek", env.clock() + 121, 1, 9)}
    assert due == pytest.approx(env.clock() + 120)
    await env.store.release("peek")
    # Two of the four appear on Rokt; the other two never do (their create was lost).
    env.fake.visible_at = {k: 0.0 for k in env.fake.visible_at if k[1] in subs[:2]}
    env.fake.holders[("acme", "summer-sale")] = set(subs[:2])
    env.clock.now += 600
    await worker.run_once()
    assert await env.states() == {SENT: 4}
    resent = env.fake.calls("create", 202)[-1].json["subscriptionIds"]
    assert sorted(resent) == sorted(subs[2:])
    assert env.fake.duplicates() == 0


async def test_an_unreadable_subscription_delays_rather_than_repeats(env: Env) -> None:
    await env.enqueue(3)
    worker = env.worker()
    slow(env)
    await worker.run_once()
    env.fake.script("subscription", [503] * 3)
    env.clock.now += 60
    await worker.run_once()
    assert await env.states() == {QUEUED: 3}
    assert len(env.fake.calls("create")) == 1
    env.clock.now += 60
    await worker.run_once()
    assert await env.states() == {SENT: 3}
    assert env.fake.duplicates() == 0


async def test_a_definite_refusal_clears_the_mark_so_no_check_is_needed(env: Env) -> None:
    await env.enqueue(2)
    worker = env.worker()
    env.fake.script("create", [429])
    await worker.run_once()
    (item, _) = await env.store.claim("peek", env.clock() + 999, 1, 9)
    assert item.maybe_sent_at is None
    await env.store.release("peek")
    env.clock.now += 60
    await worker.run_once()
    assert await env.states() == {SENT: 2}
    assert env.fake.calls("subscription") == []


async def test_404_on_a_first_cancel_is_a_dead_letter_naming_the_likely_cause(env: Env) -> None:
    await env.enqueue(1, action="cancel")
    await env.worker().run_once()
    assert await env.states() == {DEAD: 1}
    (dead,) = await env.store.recent_dead()
    assert dead.reason.startswith("not_found: Rokt answered HTTP 404 to cancel")
    assert "the account code 'acme' or the event is unknown to Rokt" in dead.reason


async def test_404_on_a_repeat_after_an_unanswered_cancel_is_done_with_a_note(env: Env) -> None:
    env.fake.events[("acme", "summer-sale")] = rokt_event()
    await env.enqueue(1, action="cancel")
    worker = env.worker()
    slow(env, "cancel")  # the cancel lands, its answer does not
    await worker.run_once()
    assert ("acme", "summer-sale") in env.fake.cancelled
    env.clock.now += 60
    await worker.run_once()
    assert [r.status for r in env.fake.calls("cancel")] == [202, 404]
    assert await env.states() == {SENT: 1}
    assert GONE_NOTE.startswith("sent: Rokt answered 404 to a repeat")


async def test_404_on_remove_of_an_unheld_event_is_dead_and_a_repeat_is_done(env: Env) -> None:
    subs = await env.enqueue(2, action="remove")
    env.fake.holders[("acme", "summer-sale")] = {subs[1]}
    worker = env.worker()
    slow(env, "remove", 2)
    await worker.run_once()  # both time out; subs[1]'s remove landed, subs[0]'s was a 404
    env.clock.now += 60
    await worker.run_once()
    # Both repeats answer 404; both items had an unanswered try, so both are done.
    assert await env.states() == {SENT: 2}
    await env.enqueue(1, action="remove")  # a fresh item, never tried: 404 is dead
    await worker.run_once()
    assert await env.states() == {SENT: 2, DEAD: 1}


def test_lists_event_reads_both_lists_of_seed_002() -> None:
    assert lists_event({"events": [{"id": "g", "externalId": "e1", "isExcluded": False}]}, "e1")
    assert not lists_event({"events": [{"id": "g", "externalId": "e1", "isExcluded": True}]}, "e1")
    assert lists_event({"eventsVisibleToSubscription": [{"subscriptionEventId": "e1"}]}, "e1")
    assert not lists_event({"events": [], "eventsVisibleToSubscription": []}, "e1")
    assert not lists_event(["e1"], "e1")
    assert FOUND_NOTE.startswith("sent:")


async def test_found_items_are_sent_with_a_note_in_one_round(env: Env) -> None:
    await env.enqueue(5)
    worker = env.worker()
    slow(env)
    await worker.run_once()
    env.clock.now += 60
    await asyncio.wait_for(worker.run_once(), 10)
    assert await env.states() == {SENT: 5}
    assert len(env.fake.calls("create")) == 1


async def test_a_subscription_rokt_does_not_know_goes_again_without_waiting(env: Env) -> None:
    subs = await env.enqueue(2)
    env.fake.reject_subscriptions(subs[0], reason="subscription is deactivated")
    worker = env.worker(visibility_wait_seconds=600, recheck_seconds=120)
    slow(env)  # the batch is refused (subs[0]), but the answer comes too late to tell us
    await worker.run_once()
    env.clock.now += 60
    await worker.run_once()
    # subs[0]: Rokt does not know it, so it goes again at once and ends as a dead letter;
    # subs[1]: not listed yet and its try is a minute old, so it waits for Rokt's processing.
    assert await env.states() == {DEAD: 1, QUEUED: 1}
    (dead,) = await env.store.recent_dead()
    assert "subscription is deactivated" in dead.reason
    assert env.fake.duplicates() == 0
