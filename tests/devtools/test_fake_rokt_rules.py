"""The fake Rokt's stricter rules (fake_rokt/rules.py), exercised over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from activity.devtools.fake_rokt import FakeRokt, start_fake_rokt
from activity.devtools.jb import rokt_event
from activity.rokt.api_requests import UPDATE, requests_for
from activity.rokt.token_cache import credentials, fetch_token

ACCOUNT = "acme"


@pytest.fixture
async def rokt() -> AsyncIterator[tuple[FakeRokt, str]]:
    fake, url, runner = await start_fake_rokt(client_id="cid", client_secret="csecret")
    yield fake, url
    await runner.cleanup()


async def token_for(http: aiohttp.ClientSession, url: str, cid: str, secret: str) -> str:
    form, headers = credentials(cid, secret)
    async with http.post(f"{url}/oauth2/token", data=form, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["access_token"])


async def send(
    http: aiohttp.ClientSession, method: str, url: str, token: str, body: Any = None, **kw: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
    if body is not None and "data" not in kw:
        kw["json"] = body
    async with http.request(method, url, headers=headers, **kw) as resp:
        return resp.status, await resp.json(content_type=None)


async def create(
    http: aiohttp.ClientSession, url: str, token: str, event: dict[str, Any], *subs: str
) -> tuple[int, Any]:
    body = {"event": event, "subscriptionIds": list(subs or [str(uuid.uuid4())])}
    return await send(http, "POST", f"{url}/v1/subscriptionevent/{ACCOUNT}", token, body)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"timezone": "British Columbia Standard Time"}, "timezone 'British Columbia"),
        ({"timezone": "America/New_York"}, "timezone 'America/New_York' is unknown"),
        ({"timezoneIanaId": "Eastern Standard Time"}, "is not IANA"),
        ({"timezoneIanaId": "Mars/Olympus"}, "is not IANA"),
        ({"notifyBefore": 1.5}, "notifyBefore must be a whole number"),
        ({"notifyBefore": "15"}, "notifyBefore must be a whole number"),
        ({"notifyBefore": True}, "notifyBefore must be a whole number"),
        ({"allDayEvent": "false"}, "allDayEvent must be a boolean"),
        ({"title": "x" * 256}, "title is longer than 255"),
        ({"description": "x" * 8001}, "description is longer than 8000"),
        ({"location": 7}, "location must be a string"),
        ({"start": "next tuesday"}, "is not an ISO date"),
    ],
)
async def test_create_refuses_what_rokt_documents_otherwise(
    rokt: tuple[FakeRokt, str],
    http: aiohttp.ClientSession,
    change: dict[str, Any],
    complaint: str,
) -> None:
    fake, url = rokt
    token = await token_for(http, url, "cid", "csecret")
    status, body = await create(http, url, token, {**rokt_event(), **change})
    assert status == 400
    assert complaint in body["message"]
    assert fake.events == {}


async def test_what_the_activity_sends_is_accepted(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    _, url = rokt
    token = await token_for(http, url, "cid", "csecret")
    assert (await create(http, url, token, rokt_event()))[0] == 202


async def test_json_needs_its_content_type(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    token = await token_for(http, url, "cid", "csecret")
    body = '{"event": {}, "subscriptionIds": []}'
    status, answer = await send(
        http,
        "POST",
        f"{url}/v1/subscriptionevent/{ACCOUNT}",
        token,
        data=body,
        headers={"Content-Type": "text/plain"},
    )
    assert status == 415 and "application/json" in answer["message"]
    assert fake.events == {}


async def test_an_account_code_the_client_does_not_own_is_not_found(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    fake.add_client("other", "other-secret", accounts=["beta"])
    mine = await token_for(http, url, "cid", "csecret")
    theirs = await token_for(http, url, "other", "other-secret")
    assert (await create(http, url, mine, rokt_event()))[0] == 202  # cid takes acme
    status, body = await create(http, url, theirs, rokt_event())
    assert status == 404 and "account acme not found" in body["message"]
    # A client with listed accounts owns only those.
    status, _ = await send(http, "DELETE", f"{url}/v1/subscriptionevent/gamma/summer-sale", theirs)
    assert status == 404


async def test_update_takes_either_shape_and_refuses_disagreeing_ones(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    token = await token_for(http, url, "cid", "csecret")
    assert (await create(http, url, token, rokt_event()))[0] == 202
    path = f"{url}/v1/subscriptionevent/{ACCOUNT}/update"
    flat = rokt_event(title="Flat")
    assert (await send(http, "POST", path, token, flat))[0] == 202
    assert fake.events[(ACCOUNT, "summer-sale")]["title"] == "Flat"
    assert (await send(http, "POST", path, token, {"event": rokt_event(title="Nested")}))[0] == 202
    assert fake.events[(ACCOUNT, "summer-sale")]["title"] == "Nested"
    (ours,) = requests_for(UPDATE, ACCOUNT, rokt_event(title="Both"), [])
    assert (await send(http, "POST", path, token, ours.body))[0] == 202
    assert fake.events[(ACCOUNT, "summer-sale")]["title"] == "Both"
    clash = {**rokt_event(title="One"), "event": rokt_event(title="Other")}
    status, body = await send(http, "POST", path, token, clash)
    assert status == 400 and "disagree on title" in body["message"]
    assert fake.events[(ACCOUNT, "summer-sale")]["title"] == "Both"


async def test_cancel_and_remove_of_unknown_events_are_404(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    _, url = rokt
    token = await token_for(http, url, "cid", "csecret")
    sub = str(uuid.uuid4())
    cancel = f"{url}/v1/subscriptionevent/{ACCOUNT}/nothing-here"
    remove = f"{url}/v2/subscription/{ACCOUNT}/{sub}/subscriptionevent/nothing-here"
    assert (await send(http, "DELETE", cancel, token))[0] == 404
    assert (await send(http, "DELETE", remove, token))[0] == 404


async def test_a_client_id_with_a_colon_authenticates_through_the_form_body(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    fake.add_client("tenant:42", "s:e:cret")
    form, headers = credentials("tenant:42", "s:e:cret")
    assert "Authorization" not in headers and form["client_id"] == "tenant:42"
    assert await token_for(http, url, "tenant:42", "s:e:cret")
    grant = await fetch_token(http, url, "tenant:42", "s:e:cret")  # what the service calls
    assert grant.access_token and fake.token_grants == 2
    assert fake.calls("token")[-1].json == {
        "grant_type": "client_credentials",
        "client_id": "tenant:42",
    }
    # Basic with that ID splits at the first colon (RFC 7617): Rokt would see client "tenant".
    form, _ = credentials("plain", "x")
    async with http.post(
        f"{url}/oauth2/token",
        data=form,
        headers={"Authorization": "Basic dGVuYW50OjQyOnM6ZTpjcmV0"},  # tenant:42:s:e:cret
    ) as resp:
        assert resp.status == 401


async def test_duplicates_are_counted_and_readable_over_http(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    token = await token_for(http, url, "cid", "csecret")
    subs = [str(uuid.uuid4()) for _ in range(3)]
    assert (await create(http, url, token, rokt_event(), *subs))[0] == 202
    assert (await create(http, url, token, rokt_event(), subs[0], subs[2]))[0] == 202
    async with http.get(f"{url}/__fake/duplicates") as resp:
        body = await resp.json()
    assert body["duplicates"] == 2 == fake.duplicates()
    assert {a["subscriptionId"] for a in body["attachments"]} == {subs[0], subs[2]}
    async with http.get(f"{url}/__fake/requests?since=1") as resp:
        listed = await resp.json()
    assert listed["total"] == 3
    assert [r["endpoint"] for r in listed["requests"]] == ["create", "create"]
    assert listed["requests"][0]["index"] == 1
    assert "csecret" not in str(listed)
    for path in ("duplicates", "requests?since=1"):  # the earlier spelling answers the same
        async with http.get(f"{url}/__fake/{path}") as new, http.get(f"{url}/_fake/{path}") as old:
            assert old.status == 200 and await old.json() == await new.json()


async def test_subscription_lists_events_only_after_rokts_processing(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    fake.processing_delay = 60.0
    now = [1000.0]
    fake.clock = lambda: now[0]
    token = await token_for(http, url, "cid", "csecret")
    sub = str(uuid.uuid4())
    assert (await create(http, url, token, rokt_event(), sub))[0] == 202
    status, details = await send(http, "GET", f"{url}/v1/subscription/{sub}", token)
    assert status == 200 and details["events"] == []
    now[0] += 60
    _, details = await send(http, "GET", f"{url}/v1/subscription/{sub}", token)
    (event,) = details["events"]
    assert event["externalId"] == "summer-sale" and event["id"] != "summer-sale"
    (visible,) = details["eventsVisibleToSubscription"]
    assert visible["subscriptionEventId"] == "summer-sale"


async def test_a_subscription_shows_only_the_events_of_the_readers_accounts(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    fake.add_client("other", "other-secret", accounts=["beta"])
    mine = await token_for(http, url, "cid", "csecret")
    theirs = await token_for(http, url, "other", "other-secret")
    sub = str(uuid.uuid4())
    assert (await create(http, url, mine, rokt_event(), sub))[0] == 202
    _, details = await send(http, "GET", f"{url}/v1/subscription/{sub}", mine)
    assert [e["externalId"] for e in details["events"]] == ["summer-sale"]
    _, details = await send(http, "GET", f"{url}/v1/subscription/{sub}", theirs)
    assert details["events"] == [] and details["eventsVisibleToSubscription"] == []
