"""The delivery worker with a real SQLite outbox, real settings and the fake Rokt over HTTP."""

from __future__ import annotations

import asyncio
import time
import uuid

from activity.admin.settings_service import Actor
from activity.devtools.jb import rokt_event
from activity.rokt.retry import MAX_ATTEMPTS
from activity.storage.models import DEAD, QUEUED, SENDING, SENT
from tests.rokt.delivery_env import MID, OTHER_MID, Env, eventually

# --- batching --------------------------------------------------------------------------------


async def test_items_with_the_same_event_go_out_in_one_call(env: Env) -> None:
    shared = str(uuid.uuid4())
    subs = await env.enqueue(
        50, subs=lambda i: (str(uuid.uuid4()), shared) if i % 10 == 0 else (str(uuid.uuid4()),)
    )
    worker = env.worker()
    assert await worker.run_once() == 50
    (call,) = env.fake.calls("create")
    assert call.status == 202
    assert sorted(env.fake.subscription_ids_sent()) == sorted(set(subs))
    assert env.fake.holders[("acme", "summer-sale")] == set(subs)
    assert await env.states() == {SENT: 50}
    assert env.outcome("sent") == 50
    assert env.metrics.registry.get_sample_value("activity_outbox_depth") == 0
    assert env.fake.token_grants == 1


async def test_groups_by_account_event_and_action(env: Env) -> None:
    a, b = rokt_event("a"), rokt_event("b")
    await env.enqueue(3, payload=a)
    await env.enqueue(2, payload=b)
    beta = await env.enqueue(2, payload=a, mid=OTHER_MID, account_code="beta")
    worker = env.worker()
    await worker.run_once()
    assert sorted(c.path for c in env.fake.calls("create")) == [
        "/v1/subscriptionevent/acme",
        "/v1/subscriptionevent/acme",
        "/v1/subscriptionevent/beta",
    ]
    assert env.fake.token_grants == 2  # one per account

    await env.enqueue(4, action="update", payload={**a, "title": "Moved"})
    await env.enqueue(3, action="cancel", payload=b)
    removed = await env.enqueue(
        2, action="remove", payload=a, mid=OTHER_MID, account_code="beta", subs=lambda i: (beta[i],)
    )
    await worker.run_once()
    assert len(env.fake.calls("update")) == 1 and len(env.fake.calls("cancel")) == 1
    assert sorted(r.path.split("/")[4] for r in env.fake.calls("remove")) == sorted(removed)
    assert env.fake.events[("acme", "a")]["title"] == "Moved"
    assert ("acme", "b") in env.fake.cancelled
    assert env.fake.holders[("beta", "a")] == set()
    assert await env.states() == {SENT: 16}


async def test_under_load_rokt_sees_a_handful_of_large_calls(env: Env) -> None:
    env.clock.now = time.time()  # a running worker reads the real clock
    worker = env.worker(clock=time.time, poll_seconds=0.05)
    await worker.start()
    try:

        async def accept(i: int) -> list[str]:
            subs = await env.enqueue(1)
            worker.wake()
            return subs

        subs = [
            s for batch in await asyncio.gather(*(accept(i) for i in range(1000))) for s in batch
        ]

        async def delivered() -> bool:
            return (await env.states()).get(SENT) == 1000

        await eventually(delivered)
    finally:
        await worker.stop()
    assert len(env.fake.calls("create")) <= 6
    sent = env.fake.subscription_ids_sent()
    assert len(sent) == len(set(sent)) == 1000 and set(sent) == set(subs)


async def test_at_low_load_an_item_goes_out_within_the_poll_interval(env: Env) -> None:
    env.clock.now = time.time()  # a running worker reads the real clock
    worker = env.worker(clock=time.time, poll_seconds=0.3)
    await worker.start()
    try:
        await asyncio.sleep(0.05)  # the worker is asleep now
        started = time.monotonic()
        await env.enqueue(1)
        worker.wake()
        await eventually(lambda: _true(len(env.fake.calls("create")) == 1), within=2)
        assert time.monotonic() - started < 0.25  # woken: no wait for the poll

        started = time.monotonic()
        await env.enqueue(1)  # nobody wakes it: the next poll finds the item
        await eventually(lambda: _true(len(env.fake.calls("create")) == 2), within=2)
        assert time.monotonic() - started < 0.3 + 0.25
    finally:
        await worker.stop()


async def _true(value: bool) -> bool:
    return value


# --- failures --------------------------------------------------------------------------------


async def test_a_5xx_window_then_success_loses_nothing(env: Env) -> None:
    subs = await env.enqueue(20)
    # 503 says Rokt did nothing; after a 500 or 502 the worker looks before repeating (see
    # tests/rokt/test_resend.py), which changes the wait.
    env.fake.script("create", [503, 503, 503])
    worker = env.worker()
    waits = []
    for _ in range(3):
        assert await worker.run_once() == 20
        assert await env.states() == {QUEUED: 20}
        due = await env.store.next_due_at()
        assert due is not None and due > env.clock.now
        waits.append(due - env.clock.now)
        assert await worker.run_once() == 0  # not due yet
        env.clock.now = due
    assert waits == [1.0, 2.0, 4.0]  # equal jitter with rand=0: half of 2, 4, 8
    assert await worker.run_once() == 20
    assert await env.states() == {SENT: 20}
    assert sorted(env.fake.subscription_ids_sent()) == sorted(subs)
    assert env.outcome("retry") == 60 and env.outcome("sent") == 20


async def test_429_retry_after_is_honoured(env: Env) -> None:
    await env.enqueue(3)
    env.fake.script("create", [429], retry_after=120)
    worker = env.worker()
    await worker.run_once()
    assert await env.store.next_due_at() == env.clock.now + 120
    env.clock.now += 119
    assert await worker.run_once() == 0
    env.clock.now += 1
    assert await worker.run_once() == 3
    assert await env.states() == {SENT: 3}


async def test_slow_answers_past_the_timeout_are_retried(env: Env) -> None:
    subs = await env.enqueue(5)
    env.fake.script("create", [None], delay=1.0)  # the client gives up after 0.5 s
    worker = env.worker()
    await worker.run_once()
    assert await env.states() == {QUEUED: 5}
    await eventually(lambda: _true(len(env.fake.calls("create")) == 1), within=2)
    (dead_end,) = env.fake.calls("create")
    env.clock.now += 10
    await worker.run_once()
    assert await env.states() == {SENT: 5}
    # Rokt acted on the slow call: the worker asked Rokt instead of creating again.
    assert env.fake.holders[("acme", "summer-sale")] == set(subs)
    assert dead_end.status == 202 and len(env.fake.calls("create")) == 1
    assert len(env.fake.calls("subscription")) == 5 and env.fake.duplicates() == 0


async def test_after_max_attempts_an_item_is_dead_with_the_last_error(env: Env) -> None:
    await env.enqueue(2)
    env.fake.script("create", [503] * MAX_ATTEMPTS)
    worker = env.worker()
    for _ in range(MAX_ATTEMPTS):
        env.clock.now += 3600
        assert await worker.run_once() == 2
    assert await env.states() == {DEAD: 2}
    (dead, _) = await env.store.recent_dead()
    assert dead.reason.startswith(f"gave_up: after {MAX_ATTEMPTS} attempts: Rokt answered HTTP 503")


async def test_refused_credentials_retry_then_end_as_auth_failed(env: Env) -> None:
    await env.service.save(
        mid=MID,
        account_code="acme",
        client_id="cid",
        client_secret="rotated-at-rokt",
        actor=Actor(),
    )
    await env.enqueue(1)
    worker = env.worker()
    await worker.run_once()
    assert await env.states() == {QUEUED: 1}
    for _ in range(MAX_ATTEMPTS - 1):
        env.clock.now += 3600
        await worker.run_once()
    (dead,) = await env.store.recent_dead()
    assert dead.reason.startswith(
        f"auth_failed: after {MAX_ATTEMPTS} attempts: invalid credentials"
    )
    assert "rotated-at-rokt" not in dead.reason
    assert env.fake.calls("create") == []


async def test_items_of_a_business_unit_without_settings_are_dead(env: Env) -> None:
    await env.enqueue(2, mid="999")
    await env.enqueue(1)
    await env.worker().run_once()
    assert await env.states() == {DEAD: 2, SENT: 1}
    dead = await env.store.recent_dead()
    assert all(d.reason.startswith("not_configured: ") for d in dead)


async def test_a_401_mid_delivery_refreshes_the_token_once(env: Env) -> None:
    worker = env.worker()
    await env.enqueue(1)
    await worker.run_once()
    env.fake.expire_tokens()
    await env.enqueue(1)
    await worker.run_once()
    assert env.fake.token_grants == 2
    assert [c.status for c in env.fake.calls("create")] == [202, 401, 202]
    assert await env.states() == {SENT: 2}


async def test_rounds_that_ran_out_of_lease_before_sending_are_not_attempts(env: Env) -> None:
    await env.enqueue(2)
    lease = 60.0
    for _ in range(MAX_ATTEMPTS + 2):
        reads = iter([env.clock.now])  # the claim; every later read is past half the lease
        late = env.clock.now + lease

        worker = env.worker(clock=lambda r=reads, t=late: next(r, t), lease_seconds=lease)
        assert await worker.run_once() == 2
        env.clock.now = late
    assert env.fake.calls("create") == []  # never tried...
    assert await env.states() == {QUEUED: 2}
    # ...so the first real failure is the first attempt, retried like any other.
    env.fake.script("create", [503])
    await env.worker().run_once()
    assert await env.states() == {QUEUED: 2}
    env.clock.now += 3600
    items = await env.store.claim("check", env.clock.now, lease, 10)
    assert [(i.attempts, i.last_error.partition(":")[0]) for i in items] == [
        (2, "rokt_retryable"),
        (2, "rokt_retryable"),
    ]


# --- restarts --------------------------------------------------------------------------------


async def test_a_restarted_worker_delivers_orphaned_items_exactly_once(env: Env) -> None:
    env.clock.now = time.time()  # a running worker reads the real clock
    subs = await env.enqueue(30)
    # A worker claimed them and died before sending: they sit 'sending' under its lease.
    orphaned = await env.store.claim("local", env.clock.now, 60.0, 500)
    assert len(orphaned) == 30 and await env.states() == {SENDING: 30}
    worker = env.worker(clock=time.time, owner="local")
    await worker.start()
    try:

        async def delivered() -> bool:
            return await env.states() == {SENT: 30}

        await eventually(delivered)
    finally:
        await worker.stop()
    sent = env.fake.subscription_ids_sent()
    assert sorted(sent) == sorted(subs) and len(env.fake.calls("create")) == 1


async def test_another_instances_expired_lease_is_taken_over(env: Env) -> None:
    subs = await env.enqueue(5)
    await env.store.claim("host-a", env.clock.now, 60.0, 500)
    worker = env.worker(owner="host-b")
    assert await worker.run_once() == 0  # host-a's lease still holds
    env.clock.now += 61
    assert await worker.run_once() == 5
    assert sorted(env.fake.subscription_ids_sent()) == sorted(subs)


async def test_stop_gives_back_the_leases_of_a_round_in_flight(env: Env) -> None:
    env.clock.now = time.time()  # a running worker reads the real clock
    await env.enqueue(4)
    env.fake.delay = 0.4
    worker = env.worker(clock=time.time, stop_grace_seconds=0.05)
    await worker.start()
    await eventually(lambda: _true(env.fake.in_flight > 0), within=2)
    await worker.stop()
    assert await env.states() == {QUEUED: 4}


async def test_rounds_are_spaced_so_a_trickle_shares_calls_but_the_first_goes_at_once(
    env: Env,
) -> None:
    env.clock = time.time  # type: ignore[assignment]  # items must be due on the wall clock
    worker = env.worker(poll_seconds=5.0, round_interval_seconds=0.4)
    await worker.start()
    try:
        started = time.monotonic()
        first = await env.enqueue(1)
        worker.wake()
        await eventually(lambda: _true(env.fake.subscription_ids_sent() == first), within=5)
        assert time.monotonic() - started < 0.3  # after a quiet spell: no waiting
        trickle: list[str] = []
        for _ in range(8):  # one contact every 30 ms, each waking the worker
            trickle += await env.enqueue(1)
            worker.wake()
            await asyncio.sleep(0.03)
        await eventually(lambda: _true(len(env.fake.subscription_ids_sent()) >= 9), within=5)
        assert sorted(env.fake.subscription_ids_sent()) == sorted(first + trickle)
        assert len(env.fake.calls("create", 202)) <= 3  # not one call per contact
    finally:
        await worker.stop()
