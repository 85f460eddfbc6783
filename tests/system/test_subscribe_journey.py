"""A journey-made subscriber reaches the data extension: JB -> /execute (subscribe) -> the fake
Rokt's Create Subscription -> its Subscribe webhook -> /webhooks/rokt/{token} -> the sync
worker -> the fake Marketing Cloud's "Calendar Subscription" rows."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.fernet import Fernet

from activity import create_app
from activity.appkeys import HTTP, SFMC_TOKENS, STORE
from activity.devtools.fake_rokt import webhooks as rokt_hooks
from activity.devtools.fake_rokt.server import start_fake_rokt
from activity.devtools.fake_sfmc import FakeSfmc
from activity.devtools.jb import (
    DEMO_MID,
    execute_payload,
    sign,
    store_demo_settings,
    test_settings,
)
from activity.devtools.subscription_story import read_rows
from activity.sfmc import installer
from activity.storage.inbox import HELD
from activity.storage.models import QUEUED, SENDING
from tests import pg
from tests.sfmc_support import syncing_app

ServerFactory = Any
MID = "100000001"  # a business unit of the fake Marketing Cloud
pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")


async def test_a_journey_subscriber_arrives_in_the_data_extension(
    aiohttp_server: ServerFactory, tmp_path: Path, sfmc: tuple[FakeSfmc, str]
) -> None:
    _, sfmc_url = sfmc
    sender = rokt_hooks.WebhookSender(schedule=(0.05,))
    fake, rokt_url, runner = await start_fake_rokt(webhooks=sender)
    try:
        syncing = await syncing_app(aiohttp_server, tmp_path, sfmc_url, rokt_api_url=rokt_url)
        app, server = syncing.app, syncing.server
        await installer.install_and_record(
            app[HTTP], app[SFMC_TOKENS], app[STORE], MID, user_id="test"
        )
        sender.register(syncing.webhook_url)
        arguments = {
            "mid": MID,
            "action": "subscribe",
            "calendarCode": "acme-sports",
            "emailAddress": "ann@example.com",
            "utmSource": "journey",
        }
        async with aiohttp.ClientSession() as http:
            answers = []
            for activity in ("welcome-journey", "winback-journey"):
                payload = execute_payload(arguments, contact_key="C-77", activity_id=activity)
                async with http.post(server.make_url("/execute"), data=sign(payload)) as resp:
                    answers.append(await resp.json())
            await sender.drain(10)
            rows = await _rows_once_synced(app, http, sfmc_url)
    finally:
        await runner.cleanup()
    first, second = answers
    assert first["roktStatus"] == "subscribed" and second == first
    assert [o.event_type for o in sender.outcomes.values()] == [
        "Subscribe",
        "SubscriptionDetailsUpdated",
    ]
    assert all(o.delivered for o in sender.outcomes.values())
    (row,) = rows
    assert row["CalendarSubscriptionId"] == first["roktSubscriptionId"]
    assert row["SubscriberExternalId"] == "C-77"  # the contact key, as seed 001 wants
    assert row["Email"] == "ann@example.com"
    assert (row["calendarCode"], row["UtmSource"]) == ("acme-sports", "journey")
    assert len(fake.calls("subscribe")) == 2


async def _rows_once_synced(
    app: web.Application, http: aiohttp.ClientSession, sfmc_url: str
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        counts = await app[STORE].inbox.counts(MID)
        if counts and not any(counts.get(state) for state in (QUEUED, SENDING, HELD)):
            return await read_rows(http, sfmc_url, MID)
        await asyncio.sleep(0.05)
    raise AssertionError(f"inbox not settled: {counts}")


@pytest.mark.postgres
async def test_two_instances_answer_one_call_with_one_subscription(
    aiohttp_server: ServerFactory, tmp_path: Path, postgres_url: str
) -> None:
    await pg.empty_tables(postgres_url)
    fake, rokt_url, runner = await start_fake_rokt()
    fake.delay = 0.1  # both instances are at Rokt at the same time
    key = (Fernet.generate_key().decode(),)
    try:
        servers = []
        for name in ("a", "b"):
            settings = test_settings(
                tmp_path / name,
                rokt_api_url=rokt_url,
                database_url=postgres_url,
                encryption_keys=key,
                run_delivery=False,
            )
            servers.append(await aiohttp_server(create_app(settings)))
        await store_demo_settings(servers[0].app)
        arguments = {"mid": DEMO_MID, "action": "subscribe", "calendarCode": "acme-sports"}
        body = sign(execute_payload(arguments, contact_key="C-88"))
        async with aiohttp.ClientSession() as http:

            async def post(server: Any) -> dict[str, Any]:
                async with http.post(server.make_url("/execute"), data=body) as resp:
                    assert resp.status == 200
                    answer: dict[str, Any] = await resp.json()
                    return answer

            answers = await asyncio.gather(*(post(servers[n % 2]) for n in range(20)))
            later = await post(servers[1])
    finally:
        await runner.cleanup()
    assert all(a == answers[0] for a in [*answers, later])
    (made,) = fake.subscribe.subscriptions.values()
    assert answers[0]["roktSubscriptionId"] == made.subscription_id
    # One call per instance at most (each has its own single flight); Rokt's own rule (same
    # subscriber, same calendar) makes the second one return the same subscription.
    assert 1 <= len(fake.calls("subscribe")) <= 2
