"""Reading a Rokt calendar's events: every page, the TTL cache, token refresh, failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from activity.admin.settings_service import RoktAccount
from activity.devtools.fake_rokt import FakeRokt, start_fake_rokt
from activity.devtools.jb import rokt_event
from activity.errors import RoktAuthFailed, RoktRejected, RoktRetryable
from activity.rokt.calendar_events import CACHE_SECONDS, CalendarEvents
from activity.rokt.token_cache import TokenCache
from tests.clock import Clock

ACCOUNT = RoktAccount("100", "acme", "cid", "csecret")


@pytest.fixture
async def env() -> AsyncIterator[tuple[FakeRokt, CalendarEvents, Clock]]:
    fake, url, runner = await start_fake_rokt(client_id="cid", client_secret="csecret")
    fake.calendars.add("acme", "cal-1", "main")
    for n in range(250):
        fake.events[("acme", f"ev-{n:03d}")] = rokt_event(f"ev-{n:03d}", title=f"Event {n}")
    clock = Clock()
    async with aiohttp.ClientSession() as http:
        yield fake, CalendarEvents(http, url, TokenCache(http, url), clock=clock), clock
    await runner.cleanup()


async def test_every_page_is_read_once_and_kept_for_the_ttl(
    env: tuple[FakeRokt, CalendarEvents, Clock],
) -> None:
    fake, calendars, clock = env
    found = await calendars.events(ACCOUNT, "cal-1")
    assert [e.id for e in found] == [f"ev-{n:03d}" for n in range(250)]
    assert found[5].title == "Event 5" and found[5].timezone == "Eastern Standard Time"
    assert [c.query["pageNumber"] for c in fake.calls("calendar_events")] == ["1", "2", "3"]
    await calendars.events(ACCOUNT, "cal-1")
    assert len(fake.calls("calendar_events")) == 3  # cached
    clock.now += CACHE_SECONDS + 1
    await calendars.events(ACCOUNT, "cal-1")
    assert len(fake.calls("calendar_events")) == 6  # read again after the TTL


async def test_a_401_refreshes_the_token_once(env: tuple[FakeRokt, CalendarEvents, Clock]) -> None:
    fake, calendars, clock = env
    await calendars.events(ACCOUNT, "cal-1")
    fake.expire_tokens()  # Rokt forgets the cached token: the next read gets a 401 first
    fake.events.clear()
    clock.now += CACHE_SECONDS + 1
    assert await calendars.events(ACCOUNT, "cal-1") == ()
    assert fake.token_grants == 2
    assert [c.status for c in fake.calls("calendar_events")][-2:] == [401, 200]


@pytest.mark.parametrize(
    ("calendar", "script", "error", "status"),
    [
        ("nope", None, RoktRejected, 404),
        ("cal-1", [503], RoktRetryable, 503),
        ("cal-1", [401, 401], RoktAuthFailed, 401),
    ],
)
async def test_failures_are_rokt_errors(
    env: tuple[FakeRokt, CalendarEvents, Clock],
    calendar: str,
    script: list[int] | None,
    error: type[Exception],
    status: int,
) -> None:
    fake, calendars, _ = env
    if script:
        fake.script("calendar_events", script)
    with pytest.raises(error) as caught:
        await calendars.events(ACCOUNT, calendar)
    assert getattr(caught.value, "status", None) == status


async def test_a_slow_rokt_cannot_stall_the_picker_page_after_page() -> None:
    # Each page comes just inside the per-request timeout; without a deadline for the whole
    # read, 20 such pages would hold the editor's request for 20 timeouts.
    import asyncio
    import time

    fake, url, runner = await start_fake_rokt(client_id="cid", client_secret="csecret")
    fake.calendars.add("acme", "cal-1", "main")
    for n in range(250):
        fake.events[("acme", f"ev-{n:03d}")] = rokt_event(f"ev-{n:03d}")
    fake.script("calendar_events", [None] * 3, delay=0.4)
    try:
        timeout = aiohttp.ClientTimeout(total=0.5)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            calendars = CalendarEvents(http, url, TokenCache(http, url), deadline=0.6)
            started = time.monotonic()
            with pytest.raises(RoktRetryable, match="did not list"):
                await calendars.events(ACCOUNT, "cal-1")
            assert time.monotonic() - started < 0.9
            await asyncio.sleep(0.5)  # the scripted slow pages are used up
            assert len(await calendars.events(ACCOUNT, "cal-1")) == 250  # nothing cached
    finally:
        await runner.cleanup()


async def test_an_answer_that_arrives_in_pieces_is_read_whole(aiohttp_server: Any) -> None:
    # A page of events is tens of kilobytes; over a real network it arrives in several
    # packets. Reading "up to N bytes" once returns only what has arrived so far.
    import asyncio
    import json

    from aiohttp import web

    events = [{"id": f"ev-{n}", "title": f"Event {n} " + "x" * 500} for n in range(100)]
    body = json.dumps({"result": {"data": events, "totalPages": 1}}).encode()

    async def token(_request: web.Request) -> web.StreamResponse:
        return await _in_pieces(_request, json.dumps({"access_token": "t" * 3000}).encode())

    async def page(request: web.Request) -> web.StreamResponse:
        return await _in_pieces(request, body)

    async def _in_pieces(request: web.Request, raw: bytes) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        for start in range(0, len(raw), 1000):
            await resp.write(raw[start : start + 1000])
            await asyncio.sleep(0.002)
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_post("/oauth2/token", token)
    app.router.add_get("/v1/{account}/calendars/{calendar}/events", page)
    server = await aiohttp_server(app)
    url = str(server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:
        found = await CalendarEvents(http, url, TokenCache(http, url)).events(ACCOUNT, "cal-1")
    assert [e.id for e in found] == [f"ev-{n}" for n in range(100)]
