"""The action `subscribe` over real HTTP: JB -> /execute -> the fake Rokt's Create Subscription."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from activity import create_app
from activity.appkeys import STORE
from activity.devtools.fake_rokt import FakeRokt, start_fake_rokt
from activity.devtools.jb import (
    event_arguments,
    execute_payload,
    sign,
    store_demo_settings,
    test_settings,
)
from tests.conftest import ClientFactory

MID = "500000001"
CONTACT = "0031x00000AbCdEf"


@pytest.fixture
async def fake_rokt() -> AsyncIterator[tuple[FakeRokt, str]]:
    fake, url, runner = await start_fake_rokt()
    yield fake, url
    await runner.cleanup()


async def app_client(
    aiohttp_client: ClientFactory, tmp_path: Path, rokt_url: str, **overrides: Any
) -> TestClient:
    client = await aiohttp_client(
        create_app(test_settings(tmp_path, rokt_api_url=rokt_url, **overrides))
    )
    await store_demo_settings(client.app, MID)
    return client


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, tmp_path: Path, fake_rokt: tuple[FakeRokt, str]
) -> TestClient:
    return await app_client(aiohttp_client, tmp_path, fake_rokt[1])


def subscribe_arguments(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "mid": MID,
        "action": "subscribe",
        "calendarCode": "acme-sports",
        "emailAddress": "ada@example.com",
        "subscriptionMethod": "WebCal",
        "utmSource": "journey",
        "utmCampaign": "<<Campaign|spring>>",
        "<<Campaign>>": "",
        "onError": "continue",
    }
    args.update(overrides)
    return args


async def post(client: TestClient, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    resp = await client.post("/execute", data=sign(payload))
    return resp.status, await resp.json()


async def test_execute_returns_the_subscription_id_and_url(
    client: TestClient, fake_rokt: tuple[FakeRokt, str]
) -> None:
    fake, _ = fake_rokt
    payload = execute_payload(subscribe_arguments(), contact_key=CONTACT)
    status, body = await post(client, payload)
    assert status == 200
    (made,) = fake.subscribe.subscriptions.values()
    assert body == {
        "roktStatus": "subscribed",
        "roktSubscriptionId": made.subscription_id,
        "roktSubscriptionUrl": f"webcal://{fake_rokt[1].split('//')[1]}/ical/"
        f"{made.subscription_id}.ics",
        "roktError": "",
    }
    (call,) = fake.calls("subscribe")
    assert call.path == "/v2/subscribe/acme/acme-sports"
    assert call.json == {
        "subscriberId": CONTACT,  # the contact key by default
        "subscriptionMethod": "WebCal",
        "emailAddress": "ada@example.com",
        "utmSource": "journey",
        "utmCampaign": "spring",  # the placeholder's fallback
    }
    # Durable before it was returned.
    stored = await client.app[STORE].find_answer(
        payload["activityId"], payload["definitionInstanceId"]
    )
    assert stored is not None and stored.body == body


async def test_a_retry_gets_the_same_answer_and_rokt_is_called_once(
    client: TestClient, fake_rokt: tuple[FakeRokt, str]
) -> None:
    fake, _ = fake_rokt
    payload = execute_payload(subscribe_arguments(), contact_key=CONTACT)
    first = await post(client, payload)
    retry = await post(client, payload)
    assert retry == first
    assert len(fake.calls("subscribe")) == 1
    assert fake.token_grants == 1


async def test_concurrent_identical_calls_reach_rokt_once(
    client: TestClient, fake_rokt: tuple[FakeRokt, str]
) -> None:
    fake, _ = fake_rokt
    fake.delay = 0.1  # all 20 arrive while the first is still at Rokt
    payload = execute_payload(subscribe_arguments(), contact_key=CONTACT)
    answers = await asyncio.gather(*(post(client, payload) for _ in range(20)))
    assert all(a == answers[0] for a in answers)
    assert answers[0][1]["roktStatus"] == "subscribed"
    assert len(fake.calls("subscribe")) == 1


async def test_a_second_journey_gets_the_contacts_existing_subscription(
    client: TestClient, fake_rokt: tuple[FakeRokt, str]
) -> None:
    fake, _ = fake_rokt
    args = subscribe_arguments()
    _, first = await post(client, execute_payload(args, contact_key=CONTACT))
    other_journey = execute_payload(
        args, contact_key=CONTACT, activity_id="another-activity", journey_id="another-journey"
    )
    _, second = await post(client, other_journey)
    assert second == first
    assert len(fake.subscribe.subscriptions) == 1
    assert len(fake.calls("subscribe")) == 2
    _, someone_else = await post(client, execute_payload(args, contact_key="C-2"))
    assert someone_else["roktSubscriptionId"] != first["roktSubscriptionId"]


async def test_google_without_redirect_is_invalid_and_rokt_is_not_called(
    client: TestClient, fake_rokt: tuple[FakeRokt, str]
) -> None:
    fake, _ = fake_rokt
    args = subscribe_arguments(subscriptionMethod="Google")
    status, body = await post(client, execute_payload(args))
    assert status == 200
    assert body["roktStatus"] == "invalid"
    assert body["roktSubscriptionId"] == body["roktSubscriptionUrl"] == ""
    assert body["roktError"].startswith("redirectTo is missing")
    assert "consent" in body["roktError"]
    status, body = await post(client, execute_payload({**args, "onError": "eject"}))
    assert status == 400 and body["roktStatus"] == "invalid"
    assert fake.calls("subscribe") == []


async def test_google_hands_over_the_consent_link_then_the_subscription(
    client: TestClient, fake_rokt: tuple[FakeRokt, str]
) -> None:
    fake, url = fake_rokt
    args = subscribe_arguments(
        subscriptionMethod="Google", redirectTo="https://brand.example.com/added"
    )
    _, pending = await post(client, execute_payload(args, contact_key=CONTACT))
    assert pending["roktStatus"] == "subscribed"
    assert pending["roktSubscriptionId"] == ""
    assert pending["roktSubscriptionUrl"].startswith(f"{url}/fake/consent/")
    assert fake.calls("subscribe")[0].json["redirectTo"] == "https://brand.example.com/added"
    async with client.session.get(pending["roktSubscriptionUrl"], allow_redirects=False) as resp:
        assert resp.status == 302
    (made,) = fake.subscribe.subscriptions.values()
    _, later = await post(client, execute_payload(args, contact_key=CONTACT))
    assert later["roktSubscriptionId"] == made.subscription_id


@pytest.mark.parametrize("outage", [503, 500, 429, 0])
async def test_a_rokt_outage_answers_503_and_a_later_retry_succeeds(
    client: TestClient, fake_rokt: tuple[FakeRokt, str], outage: int
) -> None:
    fake, _ = fake_rokt
    fake.script("subscribe", [outage])
    payload = execute_payload(subscribe_arguments(), contact_key=CONTACT)
    status, body = await post(client, payload)
    assert status == 503
    assert body["reason"] == "rokt_unavailable"
    assert (
        await client.app[STORE].find_answer(payload["activityId"], payload["definitionInstanceId"])
        is None
    )  # nothing promised, so JB's retry is a fresh try
    status, body = await post(client, payload)
    assert status == 200 and body["roktStatus"] == "subscribed"
    assert len(fake.subscribe.subscriptions) == 1


async def test_rokt_down_entirely_answers_503(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await app_client(aiohttp_client, tmp_path, "http://127.0.0.1:9")
    status, body = await post(client, execute_payload(subscribe_arguments()))
    assert status == 503 and "Rokt unreachable" in body["error"]


async def test_a_rokt_4xx_is_invalid_with_rokts_reason(
    client: TestClient, fake_rokt: tuple[FakeRokt, str]
) -> None:
    fake, _ = fake_rokt
    fake.subscribe.add_calendar("acme", "acme-sports")
    args = subscribe_arguments(calendarCode="no-such-calendar")
    status, body = await post(client, execute_payload(args))
    assert status == 200 and body["roktStatus"] == "invalid"
    assert "HTTP 404" in body["roktError"] and "no-such-calendar" in body["roktError"]
    status, body = await post(client, execute_payload({**args, "onError": "eject"}))
    assert status == 400 and "not found" in body["roktError"]


async def test_bad_contact_data_is_invalid_without_calling_rokt(
    client: TestClient, fake_rokt: tuple[FakeRokt, str]
) -> None:
    fake, _ = fake_rokt
    cases = {
        "emailAddress": ("not-an-email", "emailAddress is 'not-an-email'"),
        "calendarCode": ("../admin", "calendarCode is '../admin'"),
        "subscriptionMethod": ("Outlook", "subscriptionMethod is 'Outlook'"),
        "utmSource": ("x" * 300, "utmSource is 300 characters"),
        "subscriberId": ("s" * 300, "subscriberId is"),
    }
    for field, (value, error) in cases.items():
        _, body = await post(client, execute_payload(subscribe_arguments(**{field: value})))
        assert body["roktStatus"] == "invalid", field
        assert body["roktError"].startswith(error), body
    _, body = await post(client, execute_payload(subscribe_arguments(calendarCode="")))
    assert body["roktError"].startswith("calendarCode is missing")
    assert fake.calls("subscribe") == []


async def test_an_unconfigured_business_unit_is_skipped(
    client: TestClient, fake_rokt: tuple[FakeRokt, str]
) -> None:
    _, body = await post(client, execute_payload(subscribe_arguments(mid="500000099")))
    assert body["roktStatus"] == "skipped_not_configured"
    assert fake_rokt[0].calls("subscribe") == []


async def test_a_slow_rokt_gets_503_in_time_and_calls_are_capped(
    aiohttp_client: ClientFactory, tmp_path: Path, fake_rokt: tuple[FakeRokt, str]
) -> None:
    fake, url = fake_rokt
    client = await app_client(
        aiohttp_client,
        tmp_path,
        url,
        subscribe_timeout_seconds=0.5,
        subscribe_concurrency=3,
        rokt_timeout_seconds=30.0,
    )
    fake.delay = 2.0
    started = time.monotonic()
    answers = await asyncio.gather(
        *(
            post(client, execute_payload(subscribe_arguments(), contact_key=f"C{n}"))
            for n in range(8)
        )
    )
    assert time.monotonic() - started < 1.8
    assert [status for status, _ in answers] == [503] * 8
    assert all("within 0.5 s" in body["error"] for _, body in answers)
    assert fake.max_in_flight <= 3
    fake.delay = 0.0
    status, body = await post(client, execute_payload(subscribe_arguments(), contact_key="C0"))
    assert status == 200 and body["roktStatus"] == "subscribed"


async def test_jb_giving_up_mid_call_loses_nothing_and_its_retry_calls_rokt_no_more(
    client: TestClient, fake_rokt: tuple[FakeRokt, str]
) -> None:
    fake, _ = fake_rokt
    fake.delay = 0.4
    payload = execute_payload(subscribe_arguments(), contact_key=CONTACT)
    with pytest.raises(asyncio.TimeoutError):
        async with asyncio.timeout(0.15):  # JB's timeout fires while we wait for Rokt
            await post(client, payload)
    await asyncio.sleep(1.0)  # the call JB left carries on and is recorded
    status, body = await post(client, payload)
    assert status == 200 and body["roktStatus"] == "subscribed"
    (made,) = fake.subscribe.subscriptions.values()
    assert body["roktSubscriptionId"] == made.subscription_id
    assert len(fake.calls("subscribe")) == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"utmSource": "\ud800 lone surrogate"},
        {"emailAddress": "\udfff@example.com"},
        {"calendarCode": "kalender-ü"},
        {"redirectTo": "https://x.example/" + "a" * 100_000, "subscriptionMethod": "Google"},
        {"utmCampaign": {"nested": [1, 2, {"deep": True}]}},
        {"subscriberId": ["not", "text"]},
        {"emailAddress": "a@" + "." * 50_000},
    ],
)
async def test_hostile_values_get_a_clear_answer_never_a_500(
    client: TestClient, fake_rokt: tuple[FakeRokt, str], overrides: dict[str, Any]
) -> None:
    status, body = await post(client, execute_payload(subscribe_arguments(**overrides)))
    assert status == 200, body
    assert body["roktStatus"] in ("subscribed", "invalid")
    if body["roktStatus"] == "invalid":
        assert body["roktError"] and len(body["roktError"]) < 400


async def test_a_slow_rokt_holds_a_bounded_share_and_events_keep_flowing(
    aiohttp_client: ClientFactory, tmp_path: Path, fake_rokt: tuple[FakeRokt, str]
) -> None:
    fake, url = fake_rokt
    client = await app_client(
        aiohttp_client, tmp_path, url, subscribe_concurrency=2, subscribe_timeout_seconds=5.0
    )
    fake.delay = 0.5
    calls = [
        asyncio.ensure_future(
            post(client, execute_payload(subscribe_arguments(), contact_key=f"C{n}"))
        )
        for n in range(12)
    ]
    # 2 slots, 4 waiting per slot: the four beyond are refused at once, not queued. No
    # subscription can finish sooner than the token and the call, 0.5 s each.
    done, _ = await asyncio.wait(calls, timeout=0.9)
    refused = [c.result() for c in done]
    assert len(refused) == 4
    assert all(s == 503 and "already waiting for Rokt" in b["error"] for s, b in refused)
    started = time.monotonic()
    status, body = await post(client, execute_payload(event_arguments(mid=MID)))
    assert (status, body["roktStatus"]) == (200, "queued")
    assert time.monotonic() - started < 1.0  # an event action does not wait behind Rokt
    rest = await asyncio.gather(*calls)
    assert [b["roktStatus"] for s, b in rest if s == 200].count("subscribed") == 8


NESTED = b"[" * 50_000 + b"]" * 50_000


@pytest.fixture
async def garbage_rokt(aiohttp_server: Any) -> tuple[dict[str, Any], str]:
    """A Rokt whose token endpoint works and whose Create Subscription answers whatever the
    test puts in `answer` (status, body bytes, content type)."""
    answer: dict[str, Any] = {"status": 200, "body": b"{}", "type": "application/json"}

    async def token(_request: web.Request) -> web.Response:
        return web.json_response({"access_token": "t", "expires_in": 3600})

    async def subscribe(_request: web.Request) -> web.Response:
        return web.Response(
            status=answer["status"], body=answer["body"], content_type=answer["type"]
        )

    app = web.Application()
    app.router.add_post("/oauth2/token", token)
    app.router.add_post("/v2/subscribe/{account}/{calendar}", subscribe)
    server = await aiohttp_server(app)
    return answer, str(server.make_url("")).rstrip("/")


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, NESTED, "application/json"),
        (400, NESTED, "application/json"),
        (500, NESTED, "application/json"),
        (200, b'{"subscriptionId": NaN}', "application/json"),
        (200, b"<html><body>Service Unavailable</body></html>", "text/html"),
        (200, b'{"success": false, "statusCode": 400, "message": ' + NESTED + b"}", "text/json"),
        (200, b'{"subscriptionId": "' + b"a" * 200_000 + b'", "subscriptionUrl": "x"}', "a/b"),
        (200, b'{"subscriptionId": 7, "subscriptionUrl": ["webcal://x"]}', "application/json"),
        (400, b'{"message": "bad\\u0000 name \\ud800 here"}', "application/json"),
        (
            200,
            b'{"subscriptionId": "0b6c1f7e-3c1d-4f5e-9a8b-1c2d3e4f5a6b",'
            b' "subscriptionUrl": "webcal://x\\u0000y"}',
            "application/json",
        ),
    ],
)
async def test_rokt_answering_garbage_is_a_clear_answer_never_a_500(
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    garbage_rokt: tuple[dict[str, Any], str],
    caplog: pytest.LogCaptureFixture,
    status: int,
    body: bytes,
    content_type: str,
) -> None:
    answer, url = garbage_rokt
    answer.update(status=status, body=body, type=content_type)
    client = await app_client(aiohttp_client, tmp_path, url)
    got, out = await post(client, execute_payload(subscribe_arguments()))
    # Rokt's fault, not the contact's: a 503 that JB retries, or `invalid` for a 4xx.
    assert got in (200, 503), out
    if got == 200:
        assert out["roktStatus"] == "invalid" and len(out["roktError"]) < 400
        # Rokt's words reach JB and the database: one line of storable text.
        assert "\x00" not in out["roktError"] and out["roktError"].isprintable()
    else:
        assert out["reason"] == "rokt_unavailable" and len(out["error"]) < 400
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


async def test_a_client_secret_stored_under_a_retired_key_is_a_clear_skip_not_a_500(
    aiohttp_client: ClientFactory, tmp_path: Path, fake_rokt: tuple[FakeRokt, str],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    # ACTIVITY_ENCRYPTION_KEY replaced without the old key: this business unit's Rokt secret
    # cannot be read. Each contact gets an answer saying so, not a 500 with a traceback.
    from cryptography.fernet import Fernet

    await app_client(aiohttp_client, tmp_path, fake_rokt[1])  # stores the settings
    rekeyed = test_settings(
        tmp_path, rokt_api_url=fake_rokt[1], encryption_keys=(Fernet.generate_key().decode(),)
    )
    client = await aiohttp_client(create_app(rekeyed))
    status, body = await post(client, execute_payload(subscribe_arguments()))
    assert status == 200, body
    assert body["roktStatus"] == "skipped_not_configured"
    assert "decrypt" in body["roktError"] and "save" in body["roktError"]
    assert fake_rokt[0].calls("subscribe") == []
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


async def test_subscribe_answers_are_counted_for_their_business_unit_only(
    client: TestClient,
) -> None:
    activity = "5b1f7c1e-3d0a-4c55-8f1e-0a9b2c3d4e5f"
    for args in (subscribe_arguments(), subscribe_arguments(mid="500000002")):
        status, _ = await post(client, execute_payload(args, activity_id=activity))
        assert status == 200
    store = client.app[STORE]
    mine = await store.activity_stats(MID, activity)
    unconfigured = await store.activity_stats("500000002", activity)
    assert (mine.subscribed, mine.skipped) == (1, ())
    assert (unconfigured.subscribed, unconfigured.skipped) == (0, (("skipped_not_configured", 1),))
    assert (await store.activity_stats("500000003", activity)).skipped == ()
