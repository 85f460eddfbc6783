"""The fake Rokt sends webhooks like Rokt: any 2xx acknowledges, anything else is retried on
the schedule, then given up; everything is readable over HTTP."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from activity.devtools.fake_rokt import webhooks as rokt_hooks
from activity.devtools.fake_rokt.server import start_fake_rokt


async def test_subscriptions_on_the_fake_call_the_registered_url(aiohttp_server: Any) -> None:
    received: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=204)  # any 2xx acknowledges

    app = web.Application()
    app.router.add_post("/hook", hook)
    target = await aiohttp_server(app)
    sender = rokt_hooks.WebhookSender(schedule=(0.01,))
    _, url, runner = await start_fake_rokt(webhooks=sender)
    try:
        async with aiohttp.ClientSession() as http:
            register = {"url": str(target.make_url("/hook"))}
            assert (await http.post(f"{url}/__fake/webhooks/register", json=register)).status == 200
            made = await (
                await http.post(
                    f"{url}/__fake/subscriptions",
                    json={"accountCode": "acme", "subscriberExternalId": "k1"},
                )
            ).json()
            sub = made["calendarSubscriptionId"]
            gone = await http.post(f"{url}/__fake/subscriptions/{sub}/unsubscribe")
            assert gone.status == 200
            missing = await http.post(f"{url}/__fake/subscriptions/nope/unsubscribe")
            assert missing.status == 404
            await sender.drain(5)
            report = await (await http.get(f"{url}/__fake/webhooks")).json()
    finally:
        await runner.cleanup()
    assert [w["eventType"] for w in received] == ["Subscribe", "Unsubscribe"]
    assert {w["eventDetails"]["calendarSubscriptionId"] for w in received} == {sub}
    assert received[0]["eventDetails"]["subscription"]["subscriberExternalId"] == "k1"
    assert report["pending"] == 0
    assert [(a["event_type"], a["status"]) for a in report["attempts"]] == [
        ("Subscribe", 204), ("Unsubscribe", 204),
    ]  # fmt: skip


async def test_failures_are_retried_on_the_schedule(aiohttp_server: Any) -> None:
    failures = [503, 302]

    async def flaky(request: web.Request) -> web.Response:
        if failures:
            return web.Response(status=failures.pop(0), headers={"Location": "/elsewhere"})
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", flaky)
    app.router.add_post("/elsewhere", flaky)
    server = await aiohttp_server(app)
    sender = rokt_hooks.WebhookSender(schedule=(0.01, 0.01, 0.01))
    sender.register(str(server.make_url("/hook")))
    payload = rokt_hooks.subscribe("acme", "7ae10174-37fb-4448-8f61-2f86f167009e")
    sender.send(payload)
    await sender.drain(10)
    # The redirect is a failure too: it is not followed.
    assert [a.status for a in sender.attempts] == [503, 302, 200]
    assert sender.outcomes[payload["eventId"]].delivered
    await sender.close()


async def test_rokt_gives_up_after_its_schedule() -> None:
    sender = rokt_hooks.WebhookSender(schedule=(0.01, 0.01))
    sender.register("http://127.0.0.1:9/nothing-listens")
    sender.send(rokt_hooks.subscribe("acme", "7ae10174-37fb-4448-8f61-2f86f167009e"))
    await sender.drain(10)
    (outcome,) = sender.outcomes.values()
    assert (outcome.delivered, outcome.gave_up, outcome.attempts) == (False, True, 3)
    assert [a.status for a in sender.attempts] == [0, 0, 0]
    await sender.close()


def test_the_default_schedule_is_rokts_thirty_minutes() -> None:
    assert 25 * 60 <= sum(rokt_hooks.ROKT_SCHEDULE) <= 30 * 60
    assert all(60 <= wait <= 300 for wait in rokt_hooks.ROKT_SCHEDULE)  # "a few minutes apart"
