"""The fake Rokt's Create New Subscription (seed 003), over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web

from activity.devtools.fake_rokt import FakeRokt, start_fake_rokt
from activity.devtools.fake_rokt.webhooks import WebhookSender
from activity.devtools.jb import rokt_event

ACCOUNT = "acme"
CALENDAR = "acme-sports"


@pytest.fixture
async def rokt() -> AsyncIterator[tuple[FakeRokt, str]]:
    fake, url, runner = await start_fake_rokt(client_id="cid", client_secret="csecret")
    yield fake, url
    await runner.cleanup()


async def token(http: aiohttp.ClientSession, url: str) -> str:
    async with http.post(
        f"{url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": aiohttp.encode_basic_auth("cid", "csecret")},
    ) as resp:
        return str((await resp.json())["access_token"])


async def subscribe(
    http: aiohttp.ClientSession,
    url: str,
    body: Any,
    *,
    calendar: str = CALENDAR,
    bearer: str | None = None,
) -> tuple[int, dict[str, Any]]:
    bearer = bearer or await token(http, url)
    async with http.post(
        f"{url}/v2/subscribe/{ACCOUNT}/{calendar}",
        json=body,
        headers={"Authorization": f"Bearer {bearer}"},
    ) as resp:
        return resp.status, await resp.json()


async def test_webcal_subscription_then_the_existing_one(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    body = {"subscriberId": "C-1", "emailAddress": "a@example.com", "subscriptionMethod": "WebCal"}
    status, first = await subscribe(http, url, body)
    assert status == 200
    assert first["success"] is True and first["statusCode"] == 200 and first["errors"] == []
    assert first["subscriptionType"] == "WebCal"
    assert first["isNewSubscription"] is True
    assert first["subscriberId"] == "C-1"
    uuid.UUID(first["subscriptionId"])
    assert first["subscriptionUrl"].startswith("webcal://")
    assert first["subscriptionId"] in first["subscriptionUrl"]

    status, again = await subscribe(http, url, {**body, "utmSource": "Journey"})
    assert status == 200 and again["isNewSubscription"] is False
    assert (again["subscriptionId"], again["subscriptionUrl"]) == (
        first["subscriptionId"],
        first["subscriptionUrl"],
    )
    made = fake.subscribe.subscriptions[first["subscriptionId"]]
    assert made.details["utmSource"] == "Journey"  # the existing one is updated
    assert len(fake.subscribe.subscriptions) == 1
    assert [r.json for r in fake.calls("subscribe", 200)] == [
        body,
        {**body, "utmSource": "Journey"},
    ]

    # Another calendar, or another subscriber, is another subscription.
    _, other = await subscribe(http, url, body, calendar="acme-news")
    _, someone = await subscribe(http, url, {**body, "subscriberId": "C-2"})
    assert len({first["subscriptionId"], other["subscriptionId"], someone["subscriptionId"]}) == 3


async def test_email_is_the_subscriber_when_no_subscriber_id(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    body = {"emailAddress": "b@example.com", "subscriptionMethod": "WebCal"}
    _, first = await subscribe(http, url, body)
    _, second = await subscribe(http, url, body)
    assert first["subscriberId"] == "b@example.com"
    assert second["subscriptionId"] == first["subscriptionId"]
    # Anonymous: every call a new subscription.
    _, a = await subscribe(http, url, {"subscriptionMethod": "WebCal"})
    _, b = await subscribe(http, url, {"subscriptionMethod": "WebCal"})
    assert a["subscriptionId"] != b["subscriptionId"]
    assert len(fake.subscribe.subscriptions) == 3


async def test_google_needs_consent_first_then_answers_as_existing(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    body = {
        "subscriberId": "C-9",
        "subscriptionMethod": "Google",
        "redirectTo": "https://brand.example.com/added?from=email",
    }
    status, pending = await subscribe(http, url, body)
    assert status == 200 and pending["success"] is True
    assert pending["subscriptionType"] == "Google"
    assert "subscriptionId" not in pending
    assert pending["redirectTo"].startswith(f"{url}/fake/consent/")
    assert fake.subscribe.subscriptions == {}

    async with http.get(pending["redirectTo"], allow_redirects=False) as resp:
        assert resp.status == 302
        back = urlsplit(resp.headers["Location"])
    assert back.netloc == "brand.example.com" and back.path == "/added"
    query = parse_qs(back.query)
    assert query["from"] == ["email"] and query["success"] == ["true"]
    (made,) = fake.subscribe.subscriptions.values()
    assert query["subscriptionId"] == [made.subscription_id]
    async with http.get(pending["redirectTo"], allow_redirects=False) as resp:
        assert resp.status == 404  # a consent link works once

    status, existing = await subscribe(http, url, body)
    assert status == 200
    assert existing["subscriptionId"] == made.subscription_id
    assert existing["isNewSubscription"] is False
    assert "subscriptionUrl" not in existing and "redirectTo" not in existing


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"subscriberId": "C"}, "subscriptionMethod is required"),
        ({"subscriptionMethod": "webcal"}, "subscriptionMethod can only be WebCal"),
        ({"subscriptionMethod": "Google"}, "redirectTo is required for a Google"),
        ({"subscriptionMethod": "Microsoft"}, "redirectTo is required for a Microsoft"),
        (
            {"subscriptionMethod": "Google", "redirectTo": "/relative"},
            "redirectTo must be an absolute",
        ),
        ({"userAgent": "Mozilla/5.0 (Linux; Android 14)"}, "redirectTo is required for a Google"),
        ({"subscriptionMethod": "WebCal", "emailAddress": "nope"}, "is not an email address"),
        ({"subscriptionMethod": "WebCal", "utm_source": "x"}, "utm_source is not a Create"),
        ({"subscriptionMethod": "WebCal", "subscriberId": 7}, "subscriberId must be a string"),
        ({"subscriptionMethod": "WebCal", "additionalOptIn": "yes"}, "must be a boolean"),
        ({"subscriptionMethod": "WebCal", "requestEventIds": "x"}, "must be an array"),
        ({"subscriptionMethod": "WebCal", "requestEventIds": ["x"]}, "'x' is not a GUID"),
        (["not", "an", "object"], "must be a JSON object"),
    ],
)
async def test_strict_validation(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession, body: Any, reason: str
) -> None:
    fake, url = rokt
    status, answer = await subscribe(http, url, body)
    assert status == 400
    assert answer["success"] is False and answer["statusCode"] == 400
    assert any(reason in e["reason"] for e in answer["errors"]), answer
    assert fake.subscribe.subscriptions == {}


async def test_user_agent_alone_chooses_webcal(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    _, url = rokt
    status, answer = await subscribe(http, url, {"userAgent": "Mozilla/5.0 (Macintosh)"})
    assert status == 200 and answer["subscriptionType"] == "WebCal"


async def test_declared_calendars_only_and_a_bearer_token(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    fake.subscribe.add_calendar(ACCOUNT, CALENDAR)
    body = {"subscriptionMethod": "WebCal"}
    status, answer = await subscribe(http, url, body, calendar="unknown-cal")
    assert status == 404 and "unknown-cal" in answer["errors"][0]["reason"]
    assert (await subscribe(http, url, body))[0] == 200
    assert (await subscribe(http, url, body, bearer="made-up"))[0] == 401


async def test_scripted_outage_and_listeners(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    heard: list[tuple[str, bool]] = []
    fake.subscribe.listeners.append(lambda s, new: heard.append((s.subscriber_id, new)))
    fake.script("subscribe", [503])
    body = {"subscriberId": "C-5", "subscriptionMethod": "WebCal"}
    assert (await subscribe(http, url, body))[0] == 503
    assert (await subscribe(http, url, body))[0] == 200
    assert (await subscribe(http, url, body))[0] == 200
    assert heard == [("C-5", True), ("C-5", False)]
    assert [r.status for r in fake.calls("subscribe")] == [503, 200, 200]


async def test_subscriptions_send_rokts_webhooks(aiohttp_server: Any) -> None:
    received: list[dict[str, Any]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", receive)
    hook = await aiohttp_server(app)
    sender = WebhookSender(schedule=(0.05,))
    fake, url, runner = await start_fake_rokt(
        client_id="cid", client_secret="csecret", webhooks=sender
    )
    try:
        sender.register(str(hook.make_url("/hook")))
        async with aiohttp.ClientSession() as http:
            body = {"subscriberId": "C-1", "subscriptionMethod": "WebCal", "utmSource": "j"}
            await subscribe(http, url, body)
            await subscribe(http, url, body)
            google = {**body, "subscriptionMethod": "Google", "redirectTo": "https://x.example/"}
            _, pending = await subscribe(http, url, google)
            await sender.drain(10)
            assert len(received) == 2  # nothing for Google before the consent
            async with http.get(pending["redirectTo"], allow_redirects=False):
                pass
            await sender.drain(10)
    finally:
        await runner.cleanup()
    assert [w["eventType"] for w in received] == [
        "Subscribe",
        "SubscriptionDetailsUpdated",
        "Subscribe",
    ]
    webcal, _, consented = (w["eventDetails"] for w in received)
    (made,) = fake.subscribe.of_subscriber("C-1")[:1]
    assert webcal["calendarSubscriptionId"] == made.subscription_id
    assert webcal["accountCode"] == ACCOUNT
    details = webcal["subscription"]
    assert details["subscriptionMethod"] == "Webcal"  # seed 004's spelling
    assert (details["calendarCode"], details["subscriberExternalId"]) == (CALENDAR, "C-1")
    assert details["utmSource"] == "j" and details["utmMedium"] == ""
    assert consented["subscription"]["subscriptionMethod"] == "Google"
    assert made.subscription_id in sender.subscriptions  # /__fake/.../unsubscribe knows it


async def test_unsubscribed_then_subscribed_again_is_a_new_subscription(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    fake.calendars.add(ACCOUNT, str(uuid.uuid4()), CALENDAR)  # known to the rest of the fake
    body = {"subscriberId": "C-3", "subscriptionMethod": "WebCal"}
    assert (await subscribe(http, url, body, calendar="not-a-known-calendar"))[0] == 404
    _, first = await subscribe(http, url, body)
    bearer = await token(http, url)
    async with http.delete(
        f"{url}/v1/subscription/{ACCOUNT}/{CALENDAR}",
        json={"id": first["subscriptionId"], "unsubscribeReasonText": "journey"},
        headers={"Authorization": f"Bearer {bearer}"},
    ) as resp:
        assert resp.status == 202
    _, again = await subscribe(http, url, body)
    assert again["isNewSubscription"] is True
    assert again["subscriptionId"] != first["subscriptionId"]
    _, third = await subscribe(http, url, body)
    assert (third["isNewSubscription"], third["subscriptionId"]) == (False, again["subscriptionId"])


async def test_the_webcal_link_serves_the_subscriptions_events(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    _, url = rokt
    _, made = await subscribe(http, url, {"subscriberId": "C-4", "subscriptionMethod": "WebCal"})
    bearer = await token(http, url)
    event = rokt_event("launch-1", title="Launch; day, one", location="Hall 1")
    async with http.post(
        f"{url}/v1/subscriptionevent/{ACCOUNT}",
        json={"event": event, "subscriptionIds": [made["subscriptionId"]]},
        headers={"Authorization": f"Bearer {bearer}"},
    ) as resp:
        assert resp.status == 202
    feed = made["subscriptionUrl"].replace("webcal://", "http://", 1)
    async with http.get(feed) as resp:
        assert resp.status == 200 and resp.content_type == "text/calendar"
        text = await resp.text()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "SUMMARY:Launch\\; day\\, one\r\n" in text
    assert "DTSTART;TZID=America/New_York:20261201T090000\r\n" in text
    assert f"X-WR-CALNAME:{CALENDAR}\r\n" in text
    async with http.get(f"{url}/ical/{uuid.uuid4()}.ics") as resp:
        assert resp.status == 404
