"""A journey-made subscriber reaches the service's webhook inbox: JB -> /execute (subscribe)
-> the fake Rokt's Create Subscription -> its Subscribe webhook -> /webhooks/rokt/{token}."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from activity import create_app
from activity.appkeys import STORE, WEBHOOK_URLS
from activity.devtools.fake_rokt import webhooks as rokt_hooks
from activity.devtools.fake_rokt.server import start_fake_rokt
from activity.devtools.jb import (
    DEMO_MID,
    execute_payload,
    sign,
    store_demo_settings,
    test_settings,
)

ServerFactory = Any


async def test_a_journey_subscriber_arrives_in_the_webhook_inbox(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    sender = rokt_hooks.WebhookSender(schedule=(0.05,))
    fake, rokt_url, runner = await start_fake_rokt(webhooks=sender)
    try:
        settings = test_settings(tmp_path, rokt_api_url=rokt_url)
        app = create_app(settings)
        server = await aiohttp_server(app)
        await store_demo_settings(app)
        hook = (await app[WEBHOOK_URLS].url_for(DEMO_MID)).removeprefix(settings.public_base)
        arguments = {
            "mid": DEMO_MID,
            "action": "subscribe",
            "calendarCode": "acme-sports",
            "emailAddress": "ann@example.com",
            "utmSource": "journey",
        }
        async with aiohttp.ClientSession() as http:
            await http.post(
                f"{rokt_url}/__fake/webhooks/register", json={"url": str(server.make_url(hook))}
            )
            answers = []
            for activity in ("welcome-journey", "winback-journey"):
                payload = execute_payload(arguments, contact_key="C-77", activity_id=activity)
                async with http.post(server.make_url("/execute"), data=sign(payload)) as resp:
                    answers.append(await resp.json())
            await sender.drain(10)
    finally:
        await runner.cleanup()
    first, second = answers
    assert first["roktStatus"] == "subscribed" and second == first
    assert [o.delivered for o in sender.outcomes.values()] == [True, True]
    items = await server.app[STORE].inbox.claim("t", 1e12, 30, 10)
    assert [i.subscription_id for i in items] == [first["roktSubscriptionId"]] * 2
    made = items[0].changes
    assert made["SubscriberExternalId"][0] == "C-77"  # the contact key, as seed 001 wants
    assert made["Email"][0] == "ann@example.com"
    assert made["calendarCode"][0] == "acme-sports"
    assert made["UtmSource"][0] == "journey"
    assert len(fake.calls("subscribe")) == 2
