"""JB -> /execute -> outbox -> worker -> fake Rokt, all over real HTTP."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from activity import create_app
from activity.admin.settings_service import Actor
from activity.appkeys import SETTINGS_SERVICE, STORE
from activity.devtools.fake_rokt.server import start_fake_rokt
from activity.devtools.fake_rokt.state import FakeRokt
from activity.devtools.jb import (
    event_arguments,
    execute_payload,
    sign,
    store_demo_settings,
    test_settings,
)
from activity.storage.models import DEAD, SENT
from tests.conftest import ClientFactory

MID = "500000001"


@pytest.fixture
async def rokt() -> AsyncIterator[tuple[FakeRokt, str, web.AppRunner]]:
    fake, url, runner = await start_fake_rokt()
    yield fake, url, runner
    await runner.cleanup()


@pytest.fixture
async def service(
    aiohttp_client: ClientFactory, tmp_path: Path, rokt: tuple[FakeRokt, str, web.AppRunner]
) -> TestClient:
    _, url, _ = rokt
    client = await aiohttp_client(create_app(test_settings(tmp_path, rokt_api_url=url)))
    await store_demo_settings(client.app)
    return client


async def execute(client: TestClient, payload: dict[str, object]) -> dict[str, str]:
    resp = await client.post("/execute", data=sign(payload))
    assert resp.status == 200
    body: dict[str, str] = await resp.json()
    return body


async def wait_delivered(client: TestClient, expected: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        counts = await client.app[STORE].delivery_counts()
        done = sum(c.count for c in counts if c.state in (SENT, DEAD))
        if done >= expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not delivered in {within}s: {counts}")


async def test_1000_concurrent_shared_contacts_go_out_in_few_calls(
    service: TestClient, rokt: tuple[FakeRokt, str, web.AppRunner]
) -> None:
    fake = rokt[0]
    subs = [str(uuid.uuid4()) for _ in range(1000)]
    payloads = [
        execute_payload(event_arguments(calendarSubscriptionId=s), contact_key=f"C{i}")
        for i, s in enumerate(subs)
    ]
    sem = asyncio.Semaphore(50)

    async def one(p: dict[str, object]) -> dict[str, str]:
        async with sem:
            return await execute(service, p)

    answers = await asyncio.gather(*(one(p) for p in payloads))
    assert {a["roktStatus"] for a in answers} == {"queued"}
    await wait_delivered(service, 1000)
    creates = fake.calls("create", 202)
    assert len(creates) <= 20, len(creates)
    assert sorted(fake.subscription_ids_sent("acme")) == sorted(subs)
    assert fake.token_grants == 1


async def test_jb_retries_never_duplicate(
    service: TestClient, rokt: tuple[FakeRokt, str, web.AppRunner]
) -> None:
    fake = rokt[0]
    payloads = [execute_payload(event_arguments()) for _ in range(50)]
    first = await asyncio.gather(*(execute(service, p) for p in payloads))
    # Retries both while items are in flight and after delivery.
    again = await asyncio.gather(*(execute(service, p) for p in payloads))
    await wait_delivered(service, 50)
    late = await asyncio.gather(*(execute(service, p) for p in payloads))
    assert first == again == late
    await asyncio.sleep(0.3)
    sent = Counter(fake.subscription_ids_sent())
    assert len(sent) == 50
    assert set(sent.values()) == {1}


async def test_rokt_outage_of_seconds_delays_but_loses_nothing(
    service: TestClient, rokt: tuple[FakeRokt, str, web.AppRunner]
) -> None:
    fake, url, runner = rokt
    port = int(url.rsplit(":", 1)[1])
    await runner.cleanup()  # Rokt is down: connection refused
    payloads = [execute_payload(event_arguments()) for _ in range(30)]
    answers = await asyncio.gather(*(execute(service, p) for p in payloads))
    assert {a["roktStatus"] for a in answers} == {"queued"}
    await asyncio.sleep(3.0)
    counts = await service.app[STORE].delivery_counts()
    assert not [c for c in counts if c.state == SENT]
    # Rokt comes back on the same address, with a 5xx window first.
    fake2, _, runner2 = await start_fake_rokt(port=port)
    fake2.script("api", [503, 502])
    try:
        await wait_delivered(service, 30, within=40)
        counts = await service.app[STORE].delivery_counts()
        assert {c.state for c in counts} == {SENT}
        sent = Counter(fake2.subscription_ids_sent())
        assert len(sent) == 30
        assert set(sent.values()) == {1}
    finally:
        await runner2.cleanup()
    assert fake.requests == []


async def test_rate_limit_with_retry_after_is_honoured(
    service: TestClient, rokt: tuple[FakeRokt, str, web.AppRunner]
) -> None:
    fake = rokt[0]
    fake.script("create", [429], retry_after=2)
    started = time.monotonic()
    await execute(service, execute_payload(event_arguments()))
    await wait_delivered(service, 1)
    creates = fake.calls("create")
    assert [c.status for c in creates] == [429, 202]
    assert creates[1].at - creates[0].at >= 1.9
    assert time.monotonic() - started >= 1.9


async def test_a_bad_subscription_inside_a_batch_is_isolated(
    service: TestClient, rokt: tuple[FakeRokt, str, web.AppRunner]
) -> None:
    fake = rokt[0]
    bad = str(uuid.uuid4())
    fake.reject_subscriptions(bad, reason="subscription deactivated")
    good = [str(uuid.uuid4()) for _ in range(9)]
    payloads = [execute_payload(event_arguments(calendarSubscriptionId=s)) for s in [*good, bad]]
    await asyncio.gather(*(execute(service, p) for p in payloads))
    await wait_delivered(service, 10)
    assert sorted(fake.subscription_ids_sent()) == sorted(good)
    [dead] = await service.app[STORE].recent_dead()
    assert "subscription deactivated" in dead.reason


async def test_enterprise_default_settings_deliver(
    service: TestClient, rokt: tuple[FakeRokt, str, web.AppRunner]
) -> None:
    fake = rokt[0]
    await service.app[SETTINGS_SERVICE].save(
        mid="500000900",
        account_code="acme-enterprise",
        client_id="demo-client",
        client_secret="demo-secret",
        enterprise_id="500000000",
        is_enterprise_default=True,
        actor=Actor("test"),
    )
    sub = str(uuid.uuid4())
    args = event_arguments(mid="500000555", eid="500000000", calendarSubscriptionId=sub)
    assert (await execute(service, execute_payload(args)))["roktStatus"] == "queued"
    await wait_delivered(service, 1)
    assert fake.subscription_ids_sent("acme-enterprise") == [sub]


async def test_an_unsubscribe_execute_deactivates_each_subscription_as_seed_002_shows(
    service: TestClient, rokt: tuple[FakeRokt, str, web.AppRunner]
) -> None:
    fake = rokt[0]
    fake.calendars.add("acme", "cal-1", "vip-calendar")
    first, second, refused = (str(uuid.uuid4()) for _ in range(3))
    fake.reject_subscriptions(refused, reason="subscription not found")
    unsubscribe = {"action": "unsubscribe", "calendarCode": "vip-calendar", "eventId": ""}
    answers = [
        await execute(
            service,
            execute_payload(
                event_arguments(**unsubscribe, calendarSubscriptionId=subs), contact_key=key
            ),
        )
        for key, subs in (("C1", f"{first};{second}"), ("C2", refused))
    ]
    assert [a["roktStatus"] for a in answers] == ["queued", "queued"]
    assert answers[0]["roktEventId"] == ""
    await wait_delivered(service, 2)
    calls = fake.calls("unsubscribe")
    assert {(c.method, c.path) for c in calls} == {("DELETE", "/v1/subscription/acme/vip-calendar")}
    assert sorted((c.json["id"], c.status) for c in calls) == sorted(
        [(first, 202), (second, 202), (refused, 400)]
    )
    assert all(
        c.json
        == {
            "id": c.json["id"],
            "unsubscribeReasonId": None,
            "unsubscribeReasonText": "Unsubscribed by a Marketing Cloud journey",
        }
        for c in calls
    )
    assert sorted(d.subscription_id for d in fake.calendars.deactivations) == sorted(
        [first, second]
    )
    counts = {c.state: c.count for c in await service.app[STORE].delivery_counts()}
    assert counts == {SENT: 1, DEAD: 1}
    [dead] = await service.app[STORE].recent_dead()
    assert dead.contact_key == "C2" and "subscription not found" in dead.reason
