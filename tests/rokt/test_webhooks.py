"""POST /webhooks/rokt/{token}: the fake Rokt sends, the service answers once stored."""

from __future__ import annotations

import dataclasses
import gzip
import json
import uuid
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from activity import create_app
from activity.appkeys import STORE, WEBHOOK_URLS
from activity.config import Settings
from activity.devtools.fake_rokt import webhooks as rokt_hooks
from activity.devtools.fake_rokt.server import start_fake_rokt
from activity.devtools.jb import DEMO_MID, store_demo_settings

ServerFactory = Any


async def _service(aiohttp_server: ServerFactory, settings: Settings) -> tuple[TestServer, str]:
    # No workers: what the intake stored stays as it was stored.
    settings = dataclasses.replace(settings, run_delivery=False)
    app = create_app(settings)
    server = await aiohttp_server(app)
    await store_demo_settings(app)  # account code "acme"
    url = await app[WEBHOOK_URLS].url_for(DEMO_MID)
    path = url.removeprefix(settings.public_base)
    return server, str(server.make_url(path))


@pytest.fixture
async def service(aiohttp_server: ServerFactory, settings: Settings) -> tuple[TestServer, str]:
    return await _service(aiohttp_server, settings)


async def post(url: str, body: Any, **kw: Any) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with aiohttp.ClientSession() as s, s.post(url, data=data, **kw) as resp:
        return resp.status, await resp.json(content_type=None)


async def stored(server: TestServer) -> int:
    """Webhooks in the inbox, whatever the sync worker did with them since."""
    return sum((await server.app[STORE].inbox.counts()).values())


def sub_id() -> str:
    return str(uuid.uuid4())


async def test_the_fake_rokt_delivers_a_subscription_durably(
    service: tuple[TestServer, str],
) -> None:
    server, url = service
    sender = rokt_hooks.WebhookSender(schedule=(0.05,))
    _fake, rokt_url, runner = await start_fake_rokt(webhooks=sender)
    try:
        async with aiohttp.ClientSession() as s:
            await s.post(f"{rokt_url}/__fake/webhooks/register", json={"url": url})
            made = await s.post(
                f"{rokt_url}/__fake/subscriptions",
                json={"accountCode": "acme", "subscriberExternalId": "contact-1",
                      "emailAddress": "ann@example.com"},
            )  # fmt: skip
            created = await made.json()
            await sender.drain(10)
            report = await (await s.get(f"{rokt_url}/__fake/webhooks")).json()
    finally:
        await runner.cleanup()
    assert [(o["delivered"], o["attempts"]) for o in report["outcomes"]] == [(True, 1)]
    store = server.app[STORE]
    (item,) = await store.inbox.claim("t", 1e12, 30, 10)
    assert item.subscription_id == created["calendarSubscriptionId"]
    assert item.webhook_id == created["webhookId"]
    assert item.changes["SubscriberExternalId"][0] == "contact-1"
    assert item.changes["Email"][0] == "ann@example.com"


async def test_duplicates_are_answered_and_stored_once(service: tuple[TestServer, str]) -> None:
    server, url = service
    payload = rokt_hooks.subscribe("acme", sub_id())
    assert await post(url, payload) == (200, {"status": "accepted"})
    assert await post(url, payload) == (200, {"status": "duplicate"})
    assert await stored(server) == 1


async def test_test_events_are_answered_and_dropped(service: tuple[TestServer, str]) -> None:
    server, url = service
    assert await post(url, rokt_hooks.test_event()) == (200, {"status": "test"})
    assert await server.app[STORE].inbox.counts() == {}


async def test_unknown_token_is_404_and_nothing_is_stored(service: tuple[TestServer, str]) -> None:
    server, url = service
    base = url.rsplit("/", 1)[0]
    for token in ("x" * 43, "a" * 5000, "%00"):
        status, body = await post(f"{base}/{token}", rokt_hooks.subscribe("acme", sub_id()))
        assert (status, body["reason"]) == (404, "unknown_webhook_url")
    assert await server.app[STORE].inbox.counts() == {}


async def test_another_accounts_webhook_is_422(service: tuple[TestServer, str]) -> None:
    server, url = service
    status, body = await post(url, rokt_hooks.subscribe("someone-else", sub_id()))
    assert (status, body["reason"]) == (422, "account_mismatch")
    # Account codes are matched without regard to case.
    assert (await post(url, rokt_hooks.subscribe("ACME", sub_id())))[0] == 200
    assert await stored(server) == 1


def _bad(payload: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    target = payload
    *parents, last = path.split(".")
    for name in parents:
        target = target[name]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return payload


@pytest.mark.parametrize(
    ("path", "value", "why"),
    [
        ("eventId", ..., "eventId is missing"),
        ("eventId", "x" * 101, "longer than 100"),
        ("eventType", ["Subscribe"], "eventType must be a string"),
        ("eventDetails", "nope", "eventDetails must be an object"),
        ("eventDetails.accountCode", ..., "accountCode is missing"),
        ("eventDetails.subscription", None, "subscription must be an object"),
        ("eventDetails.subscription.calendarSubscriptionId", "12", "must be a GUID"),
        ("eventDetails.subscription.createdDateTimeUtc", "yesterday", "not a date and time"),
        ("eventDetails.subscription.createdDateTimeUtc", "0001-01-01 00:00:00", "out of range"),
        ("eventDetails.subscription.isMarketingAllowed", "maybe", "optIn1"),
        ("eventDetails.subscription.utmSource", {"a": 1}, "UtmSource"),
    ],
)
async def test_malformed_bodies_get_400_with_the_reason(
    service: tuple[TestServer, str], path: str, value: Any, why: str
) -> None:
    server, url = service
    payload = rokt_hooks.subscribe("acme", sub_id())
    payload["eventDetails"]["calendarSubscriptionId"] = None
    status, body = await post(url, _bad(payload, path, value))
    assert (status, body["reason"]) == (400, "malformed_webhook")
    assert why in body["error"]
    assert await server.app[STORE].inbox.counts() == {}


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[1, 2]", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000],
)
async def test_bodies_that_are_not_json_objects_get_400(
    service: tuple[TestServer, str], raw: bytes
) -> None:
    _, url = service
    status, body = await post(url, raw)
    assert (status, body["reason"]) == (400, "malformed_webhook")


async def test_bodies_over_1_mb_are_refused(service: tuple[TestServer, str]) -> None:
    server, url = service
    payload = rokt_hooks.subscribe("acme", sub_id(), utmContent="x" * (1024 * 1024))
    assert (await post(url, payload))[0] == 413
    raw = json.dumps(payload).encode()

    async def chunks(body: bytes) -> Any:
        yield body

    # Without a Content-Length (chunked): measured as it arrives.
    async with aiohttp.ClientSession() as s, s.post(url, data=chunks(raw)) as resp:
        assert resp.status == 413
    # Compressed: refused before a byte is inflated (Rokt sends plain JSON).
    big = gzip.compress(raw)
    headers = {"Content-Encoding": "gzip"}
    async with aiohttp.ClientSession() as s, s.post(url, data=chunks(big), headers=headers) as resp:
        assert (resp.status, (await resp.json())["reason"]) == (415, "content_encoding")
    # Just under the limit is fine (the long value is cut to the field's length).
    payload = rokt_hooks.subscribe("acme", sub_id(), utmContent="x" * 900_000)
    assert (await post(url, payload))[0] == 200
    assert sum((await server.app[STORE].inbox.counts()).values()) == 1


async def test_cannot_store_is_503(service: tuple[TestServer, str]) -> None:
    server, url = service
    await server.app[STORE].close()
    status, body = await post(url, rokt_hooks.subscribe("acme", sub_id()))
    assert (status, body["reason"]) == (503, "storage_unavailable")


async def test_event_webhooks_are_counted_per_event(service: tuple[TestServer, str]) -> None:
    server, url = service
    subs = [sub_id(), sub_id()]
    for sub in [*subs, subs[0]]:
        assert (await post(url, rokt_hooks.event_removed("acme", sub, "launch-1")))[0] == 200
    counts = await server.app[STORE].inbox.event_counts(DEMO_MID)
    assert [(c.event_id, c.subscribers) for c in counts] == [("launch-1", 2)]
    assert await server.app[STORE].inbox.counts() == {}


async def test_rotation_retires_the_old_url(service: tuple[TestServer, str]) -> None:
    server, url = service
    new = await server.app[WEBHOOK_URLS].url_for(DEMO_MID, rotate=True)
    assert new.rsplit("/", 1)[1] != url.rsplit("/", 1)[1]
    assert await server.app[WEBHOOK_URLS].url_for(DEMO_MID) == new  # kept, not made again
    assert (await post(url, rokt_hooks.subscribe("acme", sub_id())))[0] == 404
    path = new.removeprefix(server.app[WEBHOOK_URLS].url_of(""))
    assert len(path) >= 43  # 256 bits, base64url
    fresh = str(server.make_url(f"/webhooks/rokt/{path}"))
    assert (await post(fresh, rokt_hooks.subscribe("acme", sub_id())))[0] == 200


async def test_a_used_url_stops_working_at_once_when_rotated(
    service: tuple[TestServer, str],
) -> None:
    server, url = service
    assert (await post(url, rokt_hooks.subscribe("acme", sub_id())))[0] == 200  # now cached
    await server.app[WEBHOOK_URLS].url_for(DEMO_MID, rotate=True)
    assert (await post(url, rokt_hooks.subscribe("acme", sub_id())))[0] == 404


async def test_a_unit_on_its_enterprise_default_checks_that_account(
    service: tuple[TestServer, str],
) -> None:
    from activity.admin.settings_service import Actor
    from activity.appkeys import SETTINGS_SERVICE
    from activity.storage.models import CLIENT_CREDENTIALS_GRANT, SfmcConnection

    server, _ = service
    app = server.app
    child, enterprise = "500000077", "500000000"
    await app[SETTINGS_SERVICE].save(
        mid="500000070", account_code="ent-acct", client_id="c", client_secret="s",
        enterprise_id=enterprise, is_enterprise_default=True, actor=Actor("test"),
    )  # fmt: skip
    url = await app[WEBHOOK_URLS].url_for(child)
    local = str(server.make_url("/webhooks/rokt/" + url.rsplit("/", 1)[1]))
    # Without knowing its enterprise, the child has no account code to check against.
    assert (await post(local, rokt_hooks.subscribe("ent-acct", sub_id())))[0] == 422
    await app[STORE].put_sfmc_connection(
        SfmcConnection(
            mid=child, grant_type=CLIENT_CREDENTIALS_GRANT, client_id="x", secret_token=b"x",
            auth_url="https://auth.example.com", connected_at=1.0, updated_at=1.0,
            enterprise_id=enterprise,
        )
    )  # fmt: skip
    assert (await post(local, rokt_hooks.subscribe("ent-acct", sub_id())))[0] == 200
    assert (await post(local, rokt_hooks.subscribe("acme", sub_id())))[0] == 422


@pytest.fixture(params=["sqlite", "postgres"])
async def any_service(
    request: pytest.FixtureRequest, aiohttp_server: ServerFactory, settings: Settings
) -> tuple[TestServer, str]:
    """The service on SQLite and on PostgreSQL: what one refuses as text, both must."""
    if request.param == "postgres":
        from tests.pg import empty_tables

        url = request.getfixturevalue("postgres_url")
        await empty_tables(url)
        settings = dataclasses.replace(settings, database_url=url)
    return await _service(aiohttp_server, settings)


def _event_added(event_id: str, webhook_id: str) -> dict[str, Any]:
    payload = rokt_hooks.event_removed("acme", sub_id(), event_id)
    payload["eventId"] = webhook_id
    return payload


def _with_webhook_id(payload: dict[str, Any], webhook_id: str) -> dict[str, Any]:
    payload["eventId"] = webhook_id
    return payload


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda: _with_webhook_id(rokt_hooks.subscribe("acme", sub_id()), "a\ud800b"), "eventId"),
        (lambda: _with_webhook_id(rokt_hooks.subscribe("acme", sub_id()), "a\x00b"), "eventId"),
        (lambda: _event_added("launch-1", "b\ud800"), "eventId"),
        (lambda: _event_added("launch-1", "c\x00"), "eventId"),
        (lambda: _event_added("launch\x00", "d-1"), "eventId"),
        (lambda: _event_added("launch\udfff", "e-1"), "eventId"),
    ],
)
async def test_unstorable_text_is_400_on_both_backends_never_500_or_503(
    any_service: tuple[TestServer, str],
    make: Any,
    why: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A lone surrogate or NUL is legal JSON but no database or Marketing Cloud takes it. A 503
    # would make Rokt resend a body that can never be stored for 30 minutes; a 500 logs a
    # traceback. It is the body's fault: 400, naming the field.
    server, url = any_service
    raw = json.dumps(make()).encode()
    status, body = await post(url, raw)
    assert (status, body["reason"]) == (400, "malformed_webhook"), body
    assert why in body["error"]
    assert await server.app[STORE].inbox.counts() == {}
    assert await server.app[STORE].inbox.event_counts(DEMO_MID) == []
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    # The same URL still takes a good webhook at once.
    assert (await post(url, rokt_hooks.subscribe("acme", sub_id())))[0] == 200


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
async def test_json_without_standard_numbers_is_400(
    service: tuple[TestServer, str], constant: bytes
) -> None:
    # Python's json reads NaN and Infinity; no JSON sender writes them, and a stored "inf"
    # would reach Marketing Cloud as text.
    server, url = service
    raw = json.dumps(rokt_hooks.subscribe("acme", sub_id(), utmSource="PLACEHOLDER")).encode()
    status, body = await post(url, raw.replace(b'"PLACEHOLDER"', constant))
    assert (status, body["reason"]) == (400, "malformed_webhook")
    assert await server.app[STORE].inbox.counts() == {}


def _iso(at: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S")


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda s, at: rokt_hooks.subscribe("acme", s, createdDateTimeUtc=_iso(at)), "created"),
        (
            lambda s, at: rokt_hooks.subscribe("acme", s, confirmationDateTimeUtc=_iso(at)),
            "confirmation",
        ),
        (lambda s, at: rokt_hooks.unsubscribe("acme", s, removed_at=at), "removed"),
    ],
)
async def test_a_timestamp_days_in_the_future_is_400_so_it_cannot_freeze_a_row(
    service: tuple[TestServer, str], make: Any, field: str
) -> None:
    # The newest state of a subscription wins. A Subscribe stamped in 2099 would beat every
    # real webhook after it: the person's Unsubscribe would never reach the data extension.
    import time

    server, url = service
    status, body = await post(url, make(sub_id(), time.time() + 3 * 86400))
    assert (status, body["reason"]) == (400, "malformed_webhook"), body
    assert "future" in body["error"] and field in body["error"].lower()
    assert await server.app[STORE].inbox.counts() == {}
    # A few hours ahead (a sender's clock, a zone mistaken for UTC) is still taken.
    assert (await post(url, make(sub_id(), time.time() + 3 * 3600)))[0] == 200


async def test_a_nul_or_lone_surrogate_in_free_text_is_cleaned_not_refused(
    any_service: tuple[TestServer, str],
) -> None:
    # Utm values come from the link the subscriber opened: whatever they typed there must not
    # cost them their row. Ids stay strict (above); free text is cleaned; an email address
    # that is not text is left out, like any invalid address.
    server, url = any_service
    sub = sub_id()
    payload = rokt_hooks.subscribe(
        "acme", sub, utmSource="spring\x00sale", utmCampaign="a\ud800b", email="\ud800@x.com"
    )
    assert await post(url, json.dumps(payload).encode()) == (200, {"status": "accepted"})
    (item,) = await server.app[STORE].inbox.claim("t", 1e12, 30, 10)
    assert item.subscription_id == sub
    assert item.changes["UtmSource"][0] == "spring sale"
    assert item.changes["UtmCampaign"][0] == "a\ufffdb"
    assert "Email" not in item.changes
