"""GET /settings/deliveries: the operator view, behind the settings login, one business unit."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from markupsafe import escape

from activity import create_app
from activity.admin.operations import DEAD_MEANINGS, chart, rows_by_activity, window_start
from activity.admin.sessions import COOKIE_NAME
from activity.admin.settings_service import Actor
from activity.appkeys import HTTP, KEYRING, SETTINGS_SERVICE, STORE, WORKER
from activity.devtools.fake_rokt import FakeRokt, running_fake_rokt
from activity.devtools.fake_sfmc import FakeSfmc
from activity.devtools.jb import event_arguments, execute_payload, lifecycle_payload, sign
from activity.devtools.jb import test_settings as make_settings
from activity.ops.middlewares import FRAME_ANCESTORS
from activity.rokt.outcomes import DEAD_PREFIXES
from activity.sfmc import client_credentials
from activity.storage.delivery_views import (
    FROM_LIFECYCLE,
    FROM_MARKETING_CLOUD,
    JourneyName,
    OutcomeBucket,
)
from activity.storage.models import DEAD, SENT, DeliveryCount
from tests.admin_support import MID_A, MID_B, ClientFactory, ServerFactory, admin_client, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")

JOURNEY_A = "11111111-aaaa-4aaa-8aaa-000000000001"
JOURNEY_B = "22222222-bbbb-4bbb-8bbb-000000000002"
ACTIVITY = "2ad157c6-d111-4124-b996-4a3a48b2b168"
PAGE = "/settings/deliveries"


@dataclass
class Env:
    app: web.Application
    rokt: FakeRokt
    jb: TestClient
    admin_a: TestClient
    admin_b: TestClient


async def make_env(
    tmp_path: Path,
    aiohttp_server: ServerFactory,
    aiohttp_client: ClientFactory,
    rokt: FakeRokt,
    url: str,
    *,
    run_delivery: bool = True,
) -> Env:
    app = create_app(make_settings(tmp_path, rokt_api_url=url, run_delivery=run_delivery))
    server = await aiohttp_server(app)
    for mid, code in ((MID_A, "acme"), (MID_B, "globex")):
        await app[SETTINGS_SERVICE].save(
            mid=mid,
            account_code=code,
            client_id="demo-client",
            client_secret="demo-secret",
            actor=Actor("test"),
        )
    admin_a = await admin_client(aiohttp_server, aiohttp_client, server)
    admin_b = await admin_client(aiohttp_server, aiohttp_client, server)
    await signed_in(admin_a, mid=MID_A)
    await signed_in(admin_b, mid=MID_B, eid="500000099")
    return Env(app, rokt, await aiohttp_client(server), admin_a, admin_b)


@pytest.fixture
async def env(
    tmp_path: Path, aiohttp_server: ServerFactory, aiohttp_client: ClientFactory
) -> AsyncIterator[Env]:
    async with running_fake_rokt() as (rokt, url):
        yield await make_env(tmp_path, aiohttp_server, aiohttp_client, rokt, url)


@pytest.fixture
async def quiet_env(
    tmp_path: Path, aiohttp_server: ServerFactory, aiohttp_client: ClientFactory
) -> Env:
    """No delivery worker: the test places deliveries in the past itself."""
    url = "http://127.0.0.1:9"
    return await make_env(
        tmp_path, aiohttp_server, aiohttp_client, FakeRokt(), url, run_delivery=False
    )


async def send(env: Env, mid: str, journey: str, sub: str, contact: str = "C1") -> None:
    payload = execute_payload(
        event_arguments(mid=mid, eid="", calendarSubscriptionId=sub),
        journey_id=journey,
        contact_key=contact,
    )
    resp = await env.jb.post("/execute", data=sign(payload))
    assert (await resp.json())["roktStatus"] == "queued"


async def settled(env: Env, expected: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        counts = await env.app[STORE].delivery_counts()
        if sum(c.count for c in counts if c.state in (SENT, DEAD)) >= expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not settled")


def table_rows(html: str) -> dict[tuple[str, str], dict[str, int]]:
    found = re.findall(r'<tr data-journey="([^"]*)" data-activity="([^"]*)">(.*?)</tr>', html, re.S)
    return {
        (journey, activity): {s: int(n) for s, n in re.findall(r'data-state="(\w+)">(\d+)<', cells)}
        for journey, activity, cells in found
    }


def bars(html: str) -> list[tuple[int, str]]:
    """(sent, bar start) per bar."""
    return [(int(b["sent"]), b["start"]) for b in bar_details(html)]


def bar_details(html: str) -> list[dict[str, str]]:
    pattern = (
        r'<g class="bar" data-start="(?P<start>[^"]+)" data-sent="(?P<sent>\d+)" '
        r'data-retried="(?P<retried>\d+)" data-dead="(?P<dead>\d+)">'
    )
    return [m.groupdict() for m in re.finditer(pattern, html)]


async def test_without_a_session_the_page_is_401_and_shows_nothing(env: Env) -> None:
    await send(env, MID_A, JOURNEY_A, str(uuid.uuid4()))
    for headers in ({}, {"Cookie": f"{COOKIE_NAME}=tampered"}):
        resp = await env.jb.get(PAGE, headers=headers)
        html = await resp.text()
        assert resp.status == 401
        assert JOURNEY_A not in html and "Sign in from Marketing Cloud" in html
        assert "Set-Cookie" not in resp.headers


async def test_counts_dead_reasons_and_chart_for_the_sessions_business_unit_only(env: Env) -> None:
    bad = str(uuid.uuid4())
    env.rokt.reject_subscriptions(bad, reason="subscription deactivated")
    for i in range(5):
        await send(env, MID_A, JOURNEY_A, str(uuid.uuid4()), contact=f"A{i}")
    await send(env, MID_A, JOURNEY_A, bad, contact="A-bad")
    for i in range(2):
        await send(env, MID_B, JOURNEY_B, str(uuid.uuid4()), contact=f"B{i}")
    await settled(env, 8)

    resp = await env.admin_a.get(PAGE)
    html = await resp.text()
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert FRAME_ANCESTORS in resp.headers["Content-Security-Policy"]
    assert f"Business unit {MID_A}" in html
    assert table_rows(html) == {
        (JOURNEY_A, ACTIVITY): {"queued": 0, "sending": 0, "sent": 5, "dead": 1}
    }
    assert JOURNEY_B not in html and "globex" not in html and "B0" not in html
    dead = re.findall(r'<tr data-reason="(\w*)">(.*?)</tr>', html, re.S)
    assert len(dead) == 1 and dead[0][0] == "rejected"
    assert "A-bad" in dead[0][1] and "subscription deactivated" in dead[0][1]
    assert str(escape(DEAD_MEANINGS["rejected"])) in dead[0][1]
    counted = bars(html)
    assert len(counted) == 24 and sum(n for n, _ in counted) == 5 and counted[-1][0] == 5

    html_b = await (await env.admin_b.get(PAGE)).text()
    assert table_rows(html_b) == {
        (JOURNEY_B, ACTIVITY): {"queued": 0, "sending": 0, "sent": 2, "dead": 0}
    }
    assert JOURNEY_A not in html_b and "A-bad" not in html_b and 'id="no-dead"' in html_b
    assert sum(n for n, _ in bars(html_b)) == 2


async def test_a_query_naming_another_business_unit_changes_nothing(env: Env) -> None:
    await send(env, MID_B, JOURNEY_B, str(uuid.uuid4()))
    await settled(env, 1)
    for query in (f"?mid={MID_B}", f"?mid={MID_B}&window=7d", f"?window=24h&eid={MID_B}"):
        html = await (await env.admin_a.get(PAGE + query)).text()
        assert JOURNEY_B not in html and 'id="no-deliveries"' in html


async def test_the_chart_window_picks_the_bars(quiet_env: Env) -> None:
    env = quiet_env
    store = env.app[STORE]
    now = time.time()
    for hours_ago, n in ((3, 2), (50, 4)):
        for i in range(n):
            await send(env, MID_A, JOURNEY_A, str(uuid.uuid4()), contact=f"H{hours_ago}-{i}")
        # Deliver them in the past through the outbox's own methods, as a worker would have.
        claimed = await store.claim("history", now + 1, 60, 100)
        assert len(claimed) == n
        await store.mark_sent([c.id for c in claimed], now - hours_ago * 3600)

    async def shown(window: str, current: str) -> list[tuple[int, str]]:
        html = await (await env.admin_a.get(f"{PAGE}?window={window}")).text()
        assert f'aria-current="page">Last {current}' in html
        return bars(html)

    day = await shown("24h", "24h")
    assert len(day) == 24 and sum(n for n, _ in day) == 2
    assert day[-4][0] + day[-3][0] == 2  # three hours back, whatever the minute now
    week = await shown("7d", "7d")
    assert len(week) == 28 and sum(n for n, _ in week) == 6
    hour = await shown("1h", "1h")
    assert len(hour) == 12 and sum(n for n, _ in hour) == 0
    assert await shown("forever", "24h") == day


async def test_ids_and_reasons_are_escaped(env: Env) -> None:
    hostile = '<script>alert("j")</script>'
    bad = str(uuid.uuid4())
    env.rokt.reject_subscriptions(bad, reason="<img src=x onerror=alert(1)>")
    await send(env, MID_A, hostile, bad, contact="<b>k")
    await settled(env, 1)
    html = await (await env.admin_a.get(PAGE)).text()
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>k" not in html
    assert "&lt;script&gt;alert(&#34;j&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


# --- the pure parts -----------------------------------------------------------------------


def test_rows_pivot_states_and_put_dead_first() -> None:
    counts = [
        DeliveryCount("j1", "a1", "sent", 10),
        DeliveryCount("j2", "a2", "sent", 3),
        DeliveryCount("j2", "a2", "dead", 1),
        DeliveryCount("j1", "a1", "queued", 2),
    ]
    rows = rows_by_activity(counts)
    assert [(r.journey_id, r.counts, r.total) for r in rows] == [
        ("j2", {"sent": 3, "dead": 1}, 4),
        ("j1", {"sent": 10, "queued": 2}, 12),
    ]


def test_chart_fills_empty_buckets_stacks_outcomes_and_scales_to_the_peak() -> None:
    now = 1_800_000_000.0
    since = window_start(now, 86400, 3600)
    assert since % 3600 == 0 and now - 86400 < since <= now - 86400 + 3600
    found = [
        OutcomeBucket(since, sent=4),
        OutcomeBucket(since + 5 * 3600, sent=4, retried=2, dead=2),
    ]
    drawn = chart(found, since, now, 3600)
    assert len(drawn.bars) == 24 and drawn.peak == 8
    assert (drawn.sent, drawn.retried, drawn.dead) == (8, 2, 2)
    assert [b.total for b in drawn.bars][:6] == [4, 0, 0, 0, 0, 8]
    full = drawn.height - drawn.axis
    stacked = drawn.bars[5].segments
    assert [(s.outcome, s.count) for s in stacked] == [("sent", 4), ("retried", 2), ("dead", 2)]
    assert sum(s.height for s in stacked) == full  # the peak bar fills the plot
    assert stacked[0].y + stacked[0].height == full  # sent sits on the axis
    assert stacked[1].y + stacked[1].height == stacked[0].y  # retried on top of it
    assert stacked[2].y == 0
    (alone,) = drawn.bars[0].segments
    assert alone.height == full / 2
    assert drawn.bars[1].segments == ()
    assert drawn.first.endswith(" UTC") and drawn.bars[-1].start == drawn.last
    empty = chart([], since, now, 3600)
    assert empty.peak == 0 and all(b.segments == () for b in empty.bars)


def test_every_dead_reason_prefix_is_explained() -> None:
    assert set(DEAD_MEANINGS) == set(DEAD_PREFIXES)


async def test_a_404_on_cancel_is_a_dead_letter_with_its_reason_on_the_page(env: Env) -> None:
    payload = execute_payload(
        event_arguments(
            mid=MID_A, eid="", action="cancel", calendarSubscriptionId=str(uuid.uuid4())
        ),
        journey_id=JOURNEY_A,
        contact_key="C404",
    )
    resp = await env.jb.post("/execute", data=sign(payload))
    assert (await resp.json())["roktStatus"] == "queued"
    await settled(env, 1)
    html = await (await env.admin_a.get(PAGE)).text()
    dead = re.findall(r'<tr data-reason="(\w*)">(.*?)</tr>', html, re.S)
    assert len(dead) == 1 and dead[0][0] == "not_found"
    assert "Rokt answered HTTP 404 to cancel" in dead[0][1]
    assert "or the event is unknown to Rokt" in dead[0][1]
    assert str(escape(DEAD_MEANINGS["not_found"])) in dead[0][1]


async def test_the_settings_page_links_to_the_deliveries(env: Env) -> None:
    html = await (await env.admin_a.get("/settings")).text()
    assert f'href="{PAGE}"' in html
    back = await (await env.admin_a.get(PAGE)).text()
    assert 'href="/settings"' in back


# --- retrying work and journey names -------------------------------------------------------


def retry_rows(html: str) -> list[dict[str, str]]:
    pattern = (
        r'<tr data-journey="(?P<journey>[^"]*)" data-activity="(?P<activity>[^"]*)" '
        r'data-waiting="(?P<waiting>\d+)" data-attempts="(?P<attempts>\d+)">(?P<cells>.*?)</tr>'
    )
    return [m.groupdict() for m in re.finditer(pattern, html, re.S)]


async def test_retrying_work_shows_attempts_latest_error_and_next_attempt(env: Env) -> None:
    # Rokt fails every create for a while: the contacts are neither sent nor dead.
    env.rokt.script("create", [503] * 50)
    for i in range(3):
        await send(env, MID_A, JOURNEY_A, str(uuid.uuid4()), contact=f"R{i}")
    await send(env, MID_B, JOURNEY_B, str(uuid.uuid4()), contact="B-retry")
    store = env.app[STORE]
    deadline = time.monotonic() + 20
    while len(await store.retrying_items(None)) < 4:
        assert time.monotonic() < deadline, "nothing failed"
        await asyncio.sleep(0.05)
    await env.app[WORKER].stop()  # hold them where they are: waiting for a retry

    html = await (await env.admin_a.get(PAGE)).text()
    assert 'id="no-retrying"' not in html
    (row,) = retry_rows(html)
    assert (row["journey"], row["activity"], row["waiting"]) == (JOURNEY_A, ACTIVITY, "3")
    waiting = await store.retrying_items(MID_A)
    assert row["attempts"] == str(max(w.attempts for w in waiting)) != "0"
    assert "HTTP 503" in row["cells"]
    assert " UTC (in " in row["cells"] or " UTC (due now)" in row["cells"]
    items = re.findall(r'<tr data-item="(\d+)" data-attempts="(\d+)">(.*?)</tr>', html, re.S)
    assert sorted(int(i) for i, _, _ in items) == sorted(w.id for w in waiting)
    assert all("HTTP 503" in cells and "R" in cells for _, _, cells in items)
    assert "B-retry" not in html and JOURNEY_B not in html  # another business unit's work
    assert sum(int(b["retried"]) for b in bar_details(html)) >= 3
    assert sum(int(b["sent"]) + int(b["dead"]) for b in bar_details(html)) == 0
    assert "failed attempt" in html and "put back for a retry" in html


async def test_nothing_retrying_says_so(env: Env) -> None:
    await send(env, MID_A, JOURNEY_A, str(uuid.uuid4()))
    await settled(env, 1)
    html = await (await env.admin_a.get(PAGE)).text()
    assert 'id="no-retrying"' in html and retry_rows(html) == []


async def test_journeys_are_named_when_a_lifecycle_call_named_them(env: Env) -> None:
    bad = str(uuid.uuid4())
    env.rokt.reject_subscriptions(bad)
    named = lifecycle_payload(interactionId=JOURNEY_A, name="Spring <sale> 2026")
    assert (await env.jb.post("/publish", data=sign(named))).status == 200
    unnamed = lifecycle_payload(interactionId=JOURNEY_B)
    assert (await env.jb.post("/publish", data=sign(unnamed))).status == 200
    await send(env, MID_A, JOURNEY_A, str(uuid.uuid4()), contact="N1")
    await send(env, MID_A, JOURNEY_A, bad, contact="N2")
    await send(env, MID_A, JOURNEY_B, str(uuid.uuid4()), contact="N3")
    await settled(env, 3)
    html = await (await env.admin_a.get(PAGE)).text()
    rows = dict(
        re.findall(
            r'<tr data-journey="([^"]*)" data-activity="[^"]*">\s*<td>(.*?)</td>', html, re.S
        )
    )
    assert rows[JOURNEY_A].startswith("Spring &lt;sale&gt; 2026")
    assert JOURNEY_A in rows[JOURNEY_A]  # the id stays beside the name
    assert rows[JOURNEY_B] == JOURNEY_B  # no name known: the id
    dead = re.findall(r'<tr data-reason="\w*">(.*?)</tr>', html, re.S)
    assert "Spring &lt;sale&gt; 2026" in dead[0]
    stored = await env.app[STORE].journey_names([JOURNEY_A])
    assert stored[JOURNEY_A] == JourneyName(
        JOURNEY_A, "Spring <sale> 2026", stored[JOURNEY_A].journey_key, "1", FROM_LIFECYCLE,
        stored[JOURNEY_A].updated_at,
    )  # fmt: skip


async def test_per_event_the_page_shows_how_many_subscribers_removed_it(env: Env) -> None:
    from activity.appkeys import WEBHOOK_URLS
    from activity.devtools.fake_rokt import webhooks as rokt_hooks

    url = await env.app[WEBHOOK_URLS].url_for(MID_A)
    path = "/webhooks/rokt/" + url.rsplit("/", 1)[1]
    subs = [str(uuid.uuid4()) for _ in range(3)]
    hooks = [rokt_hooks.event_removed("acme", s, "launch-1") for s in subs]
    hooks += [hooks[0], rokt_hooks.event_removed("acme", subs[0], "other-2")]
    for hook in hooks:
        assert (await env.jb.post(path, json=hook)).status == 200
    page = await (await env.admin_a.get(PAGE)).text()
    removed = dict(re.findall(r'<tr data-event="([^"]+)">.*?class="removed">(\d+)<', page, re.S))
    assert removed == {"launch-1": "3", "other-2": "1"}
    # Another business unit sees none of it.
    assert "launch-1" not in await (await env.admin_b.get(PAGE)).text()


async def test_journeys_are_named_by_marketing_cloud_for_a_connected_business_unit(
    env: Env, sfmc: tuple[FakeSfmc, str]
) -> None:
    fake, url = sfmc
    fake.add_unit(MID_A, eid="500000000")
    await client_credentials.connect(
        env.app[STORE], env.app[KEYRING], env.app[HTTP], mid=MID_A, client_id="sfmc-cid",
        client_secret="sfmc-csecret", auth_url=url,
    )  # fmt: skip
    async with env.app[HTTP].post(
        f"{url}/__fake/journeys", json={"mid": MID_A, "id": JOURNEY_A, "name": "Welcome <series>"}
    ) as resp:
        assert resp.status == 200
    await send(env, MID_A, JOURNEY_A, str(uuid.uuid4()))
    await settled(env, 1)
    html = await (await env.admin_a.get(PAGE)).text()
    assert "Welcome &lt;series&gt;" in html and "<script" not in html
    assert (await env.app[STORE].journey_names([JOURNEY_A]))[JOURNEY_A].source == (
        FROM_MARKETING_CLOUD
    )
    # Named now: the next view reads the store and asks Marketing Cloud nothing.
    asked = len(fake.calls("journey"))
    assert "Welcome &lt;series&gt;" in await (await env.admin_a.get(PAGE)).text()
    assert len(fake.calls("journey")) == asked == 1
    # Business unit B has no connection: its page never asks.
    await send(env, MID_B, JOURNEY_B, str(uuid.uuid4()))
    await settled(env, 2)
    assert JOURNEY_B in await (await env.admin_b.get(PAGE)).text()
    assert len(fake.calls("journey")) == 1
