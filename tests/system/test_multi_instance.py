"""Two `rokt-activity serve` processes share one PostgreSQL database; one is SIGKILLed mid-run.

Executes alternate between the instances, some JB retries land on the other instance, a few
arrive at both at once. Instance A dies with a Rokt call in flight while B keeps accepting and
delivering. Afterwards every accepted contact has reached the fake Rokt, and exactly once: the
only repeats are contacts of the call A had in flight when it died (Rokt received it, its
outcome never reached the database), re-sent by B once A's lease ran out.

A second test holds a worker to its lease: a round of calls that outlasts the lease (many
personalized events, a slow Rokt) starts no call after half of it, so the instance that takes
over the rest never sends the same contact a second time.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from cryptography.fernet import Fernet

from activity.admin.settings_service import Actor, SettingsService
from activity.crypto import Keyring
from activity.devtools.fake_rokt import FakeRokt, create_fake_rokt_app, start_fake_rokt
from activity.devtools.jb import rokt_event, sign
from activity.ops.metrics import Metrics
from activity.rokt.client import RoktClient
from activity.rokt.delivery import DeliveryWorker
from activity.rokt.token_cache import TokenCache
from activity.storage.models import SENT, Answer, NewItem
from activity.storage.postgres import PostgresStore
from tests.pg import fresh_database
from tests.service_process import Service, payloads, subscription_of, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

A, B = "instance-a", "instance-b"
CONTACTS = 2000
RATE = 500.0  # executes started per second: the run lasts about four seconds
CONCURRENCY = 32  # executes in flight at once, like JB's parallel requests
ROKT_DELAY = 0.4  # every Rokt call takes this long: calls are in flight when A dies
LEASE_SECONDS = 4.0  # ACTIVITY_DELIVERY_LEASE_SECONDS: how long A's items stay A's after it dies
QUIET = 0.15  # kill only when Rokt has answered nothing for this long (see kill_mid_delivery)
RETRY_OTHER_EVERY = 7  # every 7th contact: JB retries on the other instance after an answer
BOTH_AT_ONCE_EVERY = 29  # every 29th contact: the same execute reaches both instances at once

LEASED_BY = (
    "SELECT subscription_ids, lease_until FROM outbox WHERE state = 'sending' AND lease_owner = $1"
)


@dataclass
class Contact:
    index: int
    subscription_id: str
    body: bytes
    answers: list[tuple[str, int, Any]] = field(default_factory=list)  # (instance, status, body)
    accepted_by: str = ""  # known only when the first post alone got through


@dataclass
class Kill:
    at: float  # on the fake's clock
    wall: float  # time.time(), the clock leases are written in
    recorded: int  # len(fake.requests) at the kill
    answered: int  # contacts answered at the kill


class InFlightCreates:
    """A middleware for the fake Rokt: the subscription IDs of each create call it has received
    and not yet answered, so the test can kill A while A's own call is in flight."""

    def __init__(self) -> None:
        self.calls: dict[int, list[str]] = {}

    def subscription_ids(self) -> set[str]:
        return {sub for subs in self.calls.values() for sub in subs}

    @web.middleware
    async def middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        create = request.method == "POST" and request.path.startswith("/v1/subscriptionevent/")
        if not create or request.path.endswith("/update"):
            return await handler(request)
        try:
            subs = [str(s) for s in (await request.json()).get("subscriptionIds", [])]
        except ValueError:
            subs = []
        self.calls[id(request)] = subs
        try:
            return await handler(request)
        finally:
            del self.calls[id(request)]


async def start_tracked_fake() -> tuple[FakeRokt, InFlightCreates, str, web.AppRunner]:
    fake, tracker = FakeRokt(), InFlightCreates()
    fake.delay = ROKT_DELAY
    app = create_fake_rokt_app(fake)
    app.middlewares.append(tracker.middleware)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return fake, tracker, f"http://{host}:{port}", runner


async def leased_by(conn: Any, owner: str) -> dict[str, float]:
    """Subscription ID -> lease end, for the items `owner` holds."""
    return {
        sub: float(row["lease_until"])
        for row in await conn.fetch(LEASED_BY, owner)
        for sub in json.loads(row["subscription_ids"])
    }


async def kill_mid_delivery(
    a: Service,
    fake: FakeRokt,
    tracker: InFlightCreates,
    conn: Any,
    answered: Callable[[], int],
) -> Kill:
    """SIGKILL A once a third of the contacts are answered, at a moment when a create carrying
    A's leased items is in flight at the fake and no Rokt answer went out for QUIET seconds.

    The quiet moment matters for the exact accounting: a call the fake answered just before
    the kill might not have had its outcome committed yet, and its re-send would not count as
    in flight. QUIET leaves every earlier answer ample time to reach the database.
    """
    last, changed = len(fake.requests), time.monotonic()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        await asyncio.sleep(0.01)
        if len(fake.requests) != last:
            last, changed = len(fake.requests), time.monotonic()
            continue
        if answered() < CONTACTS // 3 or time.monotonic() - changed < QUIET:
            continue
        in_flight_now = tracker.subscription_ids()
        if not in_flight_now:
            continue
        leased = await leased_by(conn, A)
        if len(fake.requests) != last or not in_flight_now & leased.keys():
            continue  # an answer went out meanwhile, or only B's calls are in flight
        a.kill()
        return Kill(fake.clock(), time.time(), len(fake.requests), answered())
    raise AssertionError("no moment with A's call in flight and Rokt quiet")


async def test_two_instances_deliver_exactly_once_through_a_sigkill() -> None:
    started = time.monotonic()
    fake, tracker, rokt_url, runner = await start_tracked_fake()
    try:
        async with fresh_database() as db_url:
            await run_scenario(fake, tracker, rokt_url, db_url)
    finally:
        await runner.cleanup()
    assert time.monotonic() - started < 60


async def run_scenario(
    fake: FakeRokt, tracker: InFlightCreates, rokt_url: str, db_url: str
) -> None:
    key = Fernet.generate_key().decode()
    service_url = f"{db_url}?pool_min=1&pool_max=6"  # the pool settings ride on the URL
    # Half the lease must exceed the Rokt timeout (a live worker's last call ends before the
    # lease does); the fake answers in ROKT_DELAY, far below it.
    common = {"ACTIVITY_DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS), "ROKT_TIMEOUT_SECONDS": "1.5"}
    a = Service(
        rokt_url, database_url=service_url, encryption_key=key, ACTIVITY_INSTANCE_ID=A, **common
    )
    b = Service(
        rokt_url, database_url=service_url, encryption_key=key, ACTIVITY_INSTANCE_ID=B, **common
    )
    names = {a: A, b: B}
    conn = await asyncpg.connect(db_url)
    try:
        # Both start together on the empty database: migrations run under a lock.
        await asyncio.gather(a.start(), b.start())
        await a.configure()
        contacts = [
            Contact(i, subscription_of(p), sign(p)) for i, p in enumerate(payloads(CONTACTS))
        ]
        killed = asyncio.Event()

        def alive(service: Service) -> bool:
            return service is b or not killed.is_set()

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:

            async def post(service: Service, contact: Contact) -> bool:
                try:
                    async with http.post(f"{service.url}/execute", data=contact.body) as resp:
                        contact.answers.append((names[service], resp.status, await resp.json()))
                        return True
                except aiohttp.ClientError:
                    return False  # the instance died before answering

            async def execute(contact: Contact, gate: asyncio.Semaphore) -> None:
                async with gate:
                    if contact.index % BOTH_AT_ONCE_EVERY == 5 and alive(a):
                        await asyncio.gather(post(a, contact), post(b, contact))
                    else:
                        first = a if contact.index % 2 == 0 and alive(a) else b
                        if await post(first, contact):
                            contact.accepted_by = names[first]
                    while not contact.answers:  # JB retries; B is the one left standing
                        await post(b, contact)
                    if contact.index % RETRY_OTHER_EVERY == 3:
                        answered_by = contact.answers[0][0]
                        other = a if answered_by == B and alive(a) else b
                        if not await post(other, contact):
                            await post(b, contact)

            async def send_all() -> None:
                gate = asyncio.Semaphore(CONCURRENCY)
                tasks = []
                for contact in contacts:
                    tasks.append(asyncio.create_task(execute(contact, gate)))
                    await asyncio.sleep(1 / RATE)
                await asyncio.gather(*tasks)

            sending = asyncio.create_task(send_all())
            try:
                kill = await kill_mid_delivery(
                    a, fake, tracker, conn, lambda: sum(1 for c in contacts if c.answers)
                )
                killed.set()
                await a.proc.wait()  # type: ignore[union-attr]
                await asyncio.sleep(0.2)
                stranded = await leased_by(conn, A)  # B may take these only after the lease
                await sending
            finally:
                if not sending.done():
                    sending.cancel()
                    with suppress(asyncio.CancelledError):
                        await sending

        # Every contact got the same answer from every instance it reached: queued, once.
        for c in contacts:
            first = c.answers[0][1:]
            assert first[0] == 200 and first[1]["roktStatus"] == "queued", c.answers
            assert all(answer[1:] == first for answer in c.answers), c.answers
        retried_elsewhere = [c for c in contacts if len({name for name, *_ in c.answers}) > 1]
        assert len(retried_elsewhere) >= 50  # about a seventh of those answered before the kill
        assert kill.answered < CONTACTS  # A died mid-run; B kept accepting after that
        assert await conn.fetchval("SELECT COUNT(*) FROM executions") == CONTACTS
        assert await conn.fetchval("SELECT COUNT(*) FROM outbox") == CONTACTS  # retries add none

        queued = {c.subscription_id for c in contacts}
        await wait_until(lambda: queued <= set(fake.subscription_ids_sent()), within=30)
        for _ in range(100):
            if not await conn.fetchval("SELECT COUNT(*) FROM outbox WHERE state <> 'sent'"):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        states = dict(await conn.fetch("SELECT state, COUNT(*) FROM outbox GROUP BY state"))
        assert states == {"sent": CONTACTS}

        sent = Counter(fake.subscription_ids_sent())
        assert set(sent) == queued
        # Only a call that Rokt had received but not yet answered when A died can be sent
        # again: its outcome never reached the database.
        in_flight = {
            sub
            for r in fake.requests[kill.recorded :]
            if r.at <= kill.at and r.endpoint == "create" and r.json
            for sub in r.json["subscriptionIds"]
        }
        duplicated = {sub for sub, n in sent.items() if n > 1}
        assert duplicated <= in_flight
        assert duplicated <= stranded.keys()  # and only the dead instance's items
        assert set(sent.values()) <= {1, 2}

        # A's leased items were taken over by B after their lease and not before: sent again,
        # or, when A's call had started (its outcome unknown), first checked with Rokt's
        # GET /v1/subscription and not sent again when Rokt already had them.
        assert stranded
        creates = fake.calls("create", 202)
        checks = fake.calls("subscription")
        for sub, lease_until in stranded.items():
            resent = [r.at for r in creates if r.at > kill.at and sub in r.json["subscriptionIds"]]
            checked = [r.at for r in checks if r.at > kill.at and sub in r.path]
            assert resent or checked, sub
            assert min(resent + checked) >= kill.at + (lease_until - kill.wall) - 0.1

        # Batching across instances: calls carry contacts accepted by A and by B together.
        accepted_by = {c.subscription_id: c.accepted_by for c in contacts if c.accepted_by}
        mixed = [
            r
            for r in creates
            if {accepted_by.get(sub) for sub in r.json["subscriptionIds"]} >= {A, B}
        ]
        assert mixed
        assert len(fake.calls("create")) <= CONTACTS // 10
    finally:
        await b.stop()
        await a.stop()
        await conn.close()


def personal_item(i: int) -> NewItem:
    """A contact with its own event (personalized title): one Rokt call of its own."""
    event = rokt_event(
        f"appointment-{i}", title=f"Your appointment {i}", description="", location=""
    )
    return NewItem(
        mid="500000001",
        account_code="acme",
        action="create",
        batch_key=f"create:appointment-{i}",
        payload=event,
        subscription_ids=(str(uuid.uuid4()),),
        event_id=f"appointment-{i}",
        journey_id="journey-1",
        activity_id="activity-1",
        definition_instance_id=str(uuid.uuid4()),
        contact_key=f"contact-{i}",
    )


async def test_a_round_longer_than_its_lease_starts_no_call_after_half_of_it() -> None:
    """A claim whose Rokt calls outlast the lease (many personalized events, a slow Rokt):
    the claimer must not start calls for items another instance may already have taken over.
    """
    fake, url, runner = await start_fake_rokt()
    fake.delay = 0.3
    try:
        async with fresh_database() as db_url:
            store = PostgresStore(db_url)
            await store.open()
            try:
                service = SettingsService(store, Keyring([Fernet.generate_key().decode()]))
                await service.save(
                    mid="500000001",
                    account_code="acme",
                    client_id="demo-client",
                    client_secret="demo-secret",
                    actor=Actor(),
                )
                for i in range(40):
                    item = personal_item(i)
                    answer = Answer(200, {"roktStatus": "queued"})
                    await store.accept(
                        "activity-1", item.definition_instance_id, answer, [item], time.time()
                    )
                async with aiohttp.ClientSession() as http:

                    def worker(owner: str) -> DeliveryWorker:
                        metrics = Metrics()
                        tokens = TokenCache(http, url, metrics=metrics)
                        client = RoktClient(http, url, tokens, metrics)
                        # 40 calls, 4 at a time, 0.3 s each: 3 s of work on a 2 s lease.
                        return DeliveryWorker(
                            store, service, client, owner=owner, lease_seconds=2.0, concurrency=4
                        )

                    a, b = worker(A), worker(B)
                    first_round = asyncio.create_task(a.run_once())
                    await asyncio.sleep(2.1)  # A's lease has run out; B claims what is due
                    await b.run_once()
                    assert await first_round == 40
                    for _ in range(20):
                        if not await unsent(store):
                            break
                        await b.run_once()
            finally:
                await store.close()
        sent = Counter(fake.subscription_ids_sent())
        assert len(sent) == 40
        assert set(sent.values()) == {1}, "a contact went to Rokt twice"
    finally:
        await runner.cleanup()


async def unsent(store: PostgresStore) -> int:
    return sum(c.count for c in await store.delivery_counts() if c.state != SENT)
