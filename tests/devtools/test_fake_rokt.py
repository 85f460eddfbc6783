"""The fake Rokt Calendar API, exercised over real HTTP."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import pytest

from activity.devtools.bench.procs import free_port
from activity.devtools.fake_rokt import FakeRokt, start_fake_rokt
from activity.devtools.jb import rokt_event
from tests.clock import Clock

ACCOUNT = "acme"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def rokt(clock: Clock) -> AsyncIterator[tuple[FakeRokt, str]]:
    fake, url, runner = await start_fake_rokt(
        client_id="cid", client_secret="csecret", token_ttl=300, clock=clock
    )
    yield fake, url
    await runner.cleanup()


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(client_id, secret)}


async def get_token(http: aiohttp.ClientSession, url: str) -> str:
    async with http.post(
        f"{url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers=basic("cid", "csecret"),
    ) as resp:
        assert resp.status == 200
        return str((await resp.json())["access_token"])


async def call(
    http: aiohttp.ClientSession, method: str, url: str, token: str | None, body: Any = None
) -> tuple[int, Any, Mapping[str, str]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.request(method, url, json=body, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None), resp.headers


async def test_token_with_basic_auth_and_with_form_fields(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    async with http.post(
        f"{url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers=basic("cid", "csecret"),
    ) as resp:
        body = await resp.json()
    assert resp.status == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300 and body["access_token"]
    async with http.post(
        f"{url}/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": "cid", "client_secret": "csecret"},
    ) as resp:
        assert resp.status == 200
    assert fake.token_grants == 2
    assert all("csecret" not in repr(r) for r in fake.requests)
    assert fake.calls("token")[0].json == {"grant_type": "client_credentials", "client_id": "cid"}


@pytest.mark.parametrize(
    ("data", "auth", "status", "error"),
    [
        ({"grant_type": "client_credentials"}, basic("cid", "wrong"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, basic("nobody", "csecret"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        ({"grant_type": "password"}, basic("cid", "csecret"), 400, "unsupported_grant_type"),
    ],
)
async def test_token_refusals(
    rokt: tuple[FakeRokt, str],
    http: aiohttp.ClientSession,
    data: dict[str, str],
    auth: dict[str, str] | None,
    status: int,
    error: str,
) -> None:
    fake, url = rokt
    async with http.post(f"{url}/oauth2/token", data=data, headers=auth) as resp:
        assert resp.status == status
        assert (await resp.json())["error"] == error
    assert fake.token_grants == 0


async def test_api_needs_a_valid_unexpired_bearer_token(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession, clock: Clock
) -> None:
    fake, url = rokt
    sub = str(uuid.uuid4())
    path = f"{url}/v1/subscription/{sub}"
    assert (await call(http, "GET", path, None))[0] == 401
    assert (await call(http, "GET", path, "made-up"))[0] == 401
    token = await get_token(http, url)
    assert (await call(http, "GET", path, token))[0] == 200
    clock.now += 299
    assert (await call(http, "GET", path, token))[0] == 200
    clock.now += 1
    assert (await call(http, "GET", path, token))[0] == 401
    token = await get_token(http, url)
    fake.expire_tokens()
    assert (await call(http, "GET", path, token))[0] == 401


async def test_create_update_remove_cancel_change_state(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    token = await get_token(http, url)
    subs = [str(uuid.uuid4()) for _ in range(3)]
    status, _, _ = await call(
        http,
        "POST",
        f"{url}/v1/subscriptionevent/{ACCOUNT}",
        token,
        {"event": rokt_event(), "subscriptionIds": subs},
    )
    assert status == 202
    # Idempotent: the same create again changes nothing.
    await call(
        http,
        "POST",
        f"{url}/v1/subscriptionevent/{ACCOUNT}",
        token,
        {"event": rokt_event(), "subscriptionIds": subs[:1]},
    )
    assert fake.holders[(ACCOUNT, "summer-sale")] == set(subs)
    assert fake.subscription_ids_sent(ACCOUNT) == [*subs, subs[0]]

    status, _, _ = await call(
        http,
        "POST",
        f"{url}/v1/subscriptionevent/{ACCOUNT}/update",
        token,
        rokt_event(title="Summer Sale, extended"),
    )
    assert status == 202
    assert fake.events[(ACCOUNT, "summer-sale")]["title"] == "Summer Sale, extended"

    status, details, _ = await call(http, "GET", f"{url}/v1/subscription/{subs[0]}", token)
    assert status == 200
    assert [e["externalId"] for e in details["events"]] == ["summer-sale"]
    assert details["eventsVisibleToSubscription"][0]["title"] == "Summer Sale, extended"

    status, _, _ = await call(
        http,
        "DELETE",
        f"{url}/v2/subscription/{ACCOUNT}/{subs[0]}/subscriptionevent/summer-sale",
        token,
    )
    assert status == 202
    assert fake.holders[(ACCOUNT, "summer-sale")] == set(subs[1:])

    fake.calendars.add(ACCOUNT, "main", "main-calendar")
    status, listing, _ = await call(
        http, "GET", f"{url}/v1/{ACCOUNT}/calendars/main/events?pageNumber=1&pageSize=10", token
    )
    assert status == 200 and listing["result"]["totalResults"] == 1

    statuses = []
    for _ in range(2):  # deleting twice: the second time the event is not found
        status, _, _ = await call(
            http, "DELETE", f"{url}/v1/subscriptionevent/{ACCOUNT}/summer-sale", token
        )
        statuses.append(status)
    assert statuses == [202, 404]
    assert (ACCOUNT, "summer-sale") not in fake.events
    assert (ACCOUNT, "summer-sale") in fake.cancelled
    assert fake.events_of(subs[1]) == []
    assert [r.endpoint for r in fake.requests if r.endpoint != "token"] == [
        "create",
        "create",
        "update",
        "subscription",
        "remove",
        "calendar_events",
        "cancel",
        "cancel",
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"subscriptionIds": ["x"]}, "event is required"),
        (
            {"event": rokt_event(title=""), "subscriptionIds": [str(uuid.uuid4())]},
            "event.title is required",
        ),
        (
            {"event": rokt_event(timezone=None), "subscriptionIds": [str(uuid.uuid4())]},
            "event.timezone is required",
        ),
        (
            {"event": rokt_event(start="soon"), "subscriptionIds": [str(uuid.uuid4())]},
            "is not an ISO date",
        ),
        (
            {
                "event": rokt_event(end="2026-12-01T08:00:00"),
                "subscriptionIds": [str(uuid.uuid4())],
            },
            "end is before",
        ),
        ({"event": rokt_event(), "subscriptionIds": []}, "non-empty list"),
        ({"event": rokt_event(), "subscriptionIds": ["not-a-guid"]}, "is not a GUID"),
    ],
)
async def test_create_validates_body(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession, body: dict[str, Any], reason: str
) -> None:
    fake, url = rokt
    token = await get_token(http, url)
    status, answer, _ = await call(
        http, "POST", f"{url}/v1/subscriptionevent/{ACCOUNT}", token, body
    )
    assert status == 400
    assert reason in answer["message"]
    assert answer["errors"] and fake.events == {}


async def test_update_of_unknown_event_and_rejected_subscriptions(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    token = await get_token(http, url)
    status, answer, _ = await call(
        http, "POST", f"{url}/v1/subscriptionevent/{ACCOUNT}/update", token, rokt_event()
    )
    assert status == 400 and "does not exist" in answer["message"]

    bad, good = str(uuid.uuid4()), str(uuid.uuid4())
    fake.reject_subscriptions(bad, reason="subscription is deactivated")
    status, answer, _ = await call(
        http,
        "POST",
        f"{url}/v1/subscriptionevent/{ACCOUNT}",
        token,
        {"event": rokt_event(), "subscriptionIds": [good, bad]},
    )
    assert status == 400
    assert f"{bad}: subscription is deactivated" in answer["message"]
    assert fake.holders == {}
    status, _, _ = await call(
        http, "DELETE", f"{url}/v2/subscription/{ACCOUNT}/{bad}/subscriptionevent/x", token
    )
    assert status == 400


async def test_script_answers_in_order_then_normally(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    token = await get_token(http, url)
    fake.script("create", [503, 429], retry_after=7)
    path = f"{url}/v1/subscriptionevent/{ACCOUNT}"
    body = {"event": rokt_event(), "subscriptionIds": [str(uuid.uuid4())]}
    first = await call(http, "POST", path, token, body)
    second = await call(http, "POST", path, token, body)
    third = await call(http, "POST", path, token, body)
    assert [first[0], second[0], third[0]] == [503, 429, 202]
    assert first[2]["Retry-After"] == "7"
    assert fake.scripted_left == 0
    assert [r.status for r in fake.calls("create")] == [503, 429, 202]


async def test_script_by_path_prefix_and_for_the_token_endpoint(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    fake.script("/v1/subscription/", [500])
    fake.script("token", [502])
    async with http.post(
        f"{url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers=basic("cid", "csecret"),
    ) as resp:
        assert resp.status == 502
    token = await get_token(http, url)
    sub = str(uuid.uuid4())
    assert (await call(http, "GET", f"{url}/v1/subscription/{sub}", token))[0] == 500
    assert (await call(http, "GET", f"{url}/v1/subscription/{sub}", token))[0] == 200
    with pytest.raises(ValueError, match="unknown script target"):
        fake.script("creat", [500])


async def test_token_endpoint_down(rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession) -> None:
    fake, url = rokt
    fake.token_endpoint_down = True
    async with http.post(
        f"{url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers=basic("cid", "csecret"),
    ) as resp:
        assert resp.status == 503
    assert fake.token_grants == 0


async def test_delays_and_dropped_connections(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    token = await get_token(http, url)
    sub = str(uuid.uuid4())
    fake.script("subscription", [None], delay=0.3)
    started = time.monotonic()
    assert (await call(http, "GET", f"{url}/v1/subscription/{sub}", token))[0] == 200
    assert time.monotonic() - started >= 0.3

    fake.delay = 0.2
    results = await asyncio.gather(
        *(call(http, "GET", f"{url}/v1/subscription/{sub}", token) for _ in range(5))
    )
    assert all(r[0] == 200 for r in results)
    assert fake.max_in_flight == 5
    fake.delay = 0.0

    fake.script("create", [0])
    with pytest.raises(aiohttp.ClientError):
        await call(
            http,
            "POST",
            f"{url}/v1/subscriptionevent/{ACCOUNT}",
            token,
            {"event": rokt_event(), "subscriptionIds": [sub]},
        )
    assert fake.holders == {}


async def test_runs_standalone_from_the_command_line(http: aiohttp.ClientSession) -> None:
    port = free_port()
    args = ["--port", str(port), "--client-id", "standalone", "--client-secret", "s3cret"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "activity",
        "fake-rokt",
        *args,
        "--token-ttl",
        "60",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert f"http://127.0.0.1:{port}" in line
        assert "s3cret" not in line
        async with http.post(
            f"http://127.0.0.1:{port}/oauth2/token",
            data={"grant_type": "client_credentials"},
            headers=basic("standalone", "s3cret"),
        ) as resp:
            assert resp.status == 200
            assert (await resp.json())["expires_in"] == 60
    finally:
        proc.terminate()
        await proc.wait()
