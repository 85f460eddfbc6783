"""The running-journey hover and modal in headless Chromium, framed by the JB harness with the
real Postmonger, after a real run: JB -> /execute -> outbox -> worker -> fake Rokt.

The app is opened on http://localhost (a secure context for Chromium, so the Secure session
cookie works as on https); the admin session comes from the legacy SSO form post.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, FrameLocator, Page, async_playwright, expect

from activity import create_app
from activity.appkeys import ASSET_VERSION, STORE
from activity.devtools.fake_rokt import FakeRokt, start_fake_rokt
from activity.devtools.jb import (
    event_arguments,
    execute_payload,
    sign,
    store_demo_settings,
    test_settings,
)
from activity.storage.models import ActivityStats
from tests.admin_support import MID_A, login_token
from tests.jb_frame import harness_url

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
EXECUTABLE = str(CHROMIUM) if CHROMIUM.exists() else None
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
ACTIVITY_ID = "b2a7f81d-6e35-4f9c-bd40-8c13a25f6d7b"
GOOD, REFUSED = [str(uuid.uuid4()) for _ in range(3)], [str(uuid.uuid4()) for _ in range(2)]


class Env:
    def __init__(self, app: web.Application, base: str, fake: FakeRokt) -> None:
        self.app, self.base, self.fake = app, base, fake

    async def stats(self) -> ActivityStats:
        return await self.app[STORE].activity_stats(MID_A, ACTIVITY_ID)

    async def until(self, check: Any, within: float = 20.0) -> ActivityStats:
        deadline = time.monotonic() + within
        while True:
            stats = await self.stats()
            if check(stats):
                return stats
            assert time.monotonic() < deadline, f"not reached in {within}s: {stats}"
            await asyncio.sleep(0.05)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    fake, rokt_url, rokt = await start_fake_rokt()
    app = create_app(test_settings(tmp_path, rokt_api_url=rokt_url))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    await store_demo_settings(app, MID_A)
    yield Env(app, f"http://localhost:{port}", fake)
    await runner.cleanup()
    await rokt.cleanup()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=EXECUTABLE, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


async def execute(env: Env, subs: str, key: str) -> str:
    args = event_arguments(mid=MID_A, eventScope="contact", calendarSubscriptionId=subs)
    payload = execute_payload(args, contact_key=key, activity_id=ACTIVITY_ID)
    async with (
        __import__("aiohttp").ClientSession() as http,
        http.post(f"{env.base}/execute", data=sign(payload)) as resp,
    ):
        assert resp.status == 200
        return str((await resp.json())["roktStatus"])


async def a_run(env: Env) -> None:
    """3 sent, 2 dead (Rokt refuses their subscriptions), 1 skipped, 1 retrying."""
    env.fake.reject_subscriptions(*REFUSED, reason="subscription is deactivated")
    statuses = [await execute(env, sub, f"good-{n}") for n, sub in enumerate(GOOD)]
    statuses += [await execute(env, sub, f"refused-{n}") for n, sub in enumerate(REFUSED)]
    statuses.append(await execute(env, "", "no-subscription"))
    assert statuses == ["queued"] * 5 + ["skipped_no_subscription"]
    await env.until(lambda s: s.sent == 3 and s.dead == 2)
    # Rokt fails the next call and asks for 60 s: that contact waits, retrying.
    env.fake.script("create", [503], retry_after=60)
    assert await execute(env, str(uuid.uuid4()), "retrying") == "queued"
    await env.until(lambda s: s.retrying == 1)


async def open_view(
    browser: Browser, env: Env, view: str, width: int, height: int
) -> tuple[Page, FrameLocator]:
    context = await browser.new_context(viewport={"width": 900, "height": 800})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    response = await context.request.post(
        f"{env.base}/login", form={"jwt": login_token(mid=MID_A)}, max_redirects=0
    )
    assert response.status == 302
    await page.goto(await harness_url(page, env.base))
    event = "initActivityRunningHover" if view == "hover" else "initActivityRunningModal"
    options = {
        "activity": {"id": ACTIVITY_ID, "key": "REST-1", "name": "Summer Sale starts"},
        "tokens": {},
        "schema": {"schema": []},
        "endpoints": {},
        "width": width,
        "height": height,
        "initEvent": event,
        "src": f"/running/{view}?v={env.app[ASSET_VERSION]}",
    }
    await page.evaluate("options => window.startJB(options)", options)
    frame = page.frame_locator("#activity")
    await expect(frame.locator("#running")).to_have_attribute("aria-busy", "false")
    assert errors == []
    return page, frame


def count(frame: FrameLocator, name: str) -> Any:
    return frame.locator(f'[data-count="{name}"]')


async def no_overflow(frame: FrameLocator) -> None:
    overflow = await frame.locator("html").evaluate("h => h.scrollWidth - h.clientWidth")
    assert overflow == 0


async def test_hover_and_modal_show_the_run_and_retry_delivers_the_dead(
    browser: Browser, env: Env
) -> None:
    await a_run(env)
    ARTIFACTS.mkdir(exist_ok=True)

    page, hover = await open_view(browser, env, "hover", 200, 243)
    for name, value in (
        ("queued", "1"),
        ("sent", "3"),
        ("retrying", "1"),
        ("dead", "2"),
        ("skipped", "1"),
    ):
        await expect(count(hover, name)).to_have_text(value)
    await expect(hover.locator("#running-status")).to_contain_text("Last delivery 20")
    await expect(hover.locator(".running__retrying")).to_contain_text("Rokt answered HTTP 503")
    await expect(hover.locator(".running__retrying")).to_contain_text("next attempt")
    await expect(hover.locator(".running__reasons")).to_contain_text("2 items: rejected")
    await expect(hover.locator(".running__skipped")).to_have_text("No calendar subscription: 1")
    await no_overflow(hover)
    await page.screenshot(path=str(ARTIFACTS / "running-hover-200x243.png"))

    page, modal = await open_view(browser, env, "modal", 420, 560)
    await expect(count(modal, "dead")).to_have_text("2")
    rows = modal.locator("#dead-list tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("subscription is deactivated")
    await no_overflow(modal)
    await page.screenshot(path=str(ARTIFACTS / "running-modal-420x560.png"))

    # Rokt takes the subscriptions again; the marketer retries the dead items.
    env.fake.rejected_subscriptions.clear()
    await modal.get_by_role("button", name="Retry dead items").click()
    await expect(modal.locator("#retry-status")).to_have_text("2 items re-queued for delivery.")
    stats = await env.until(lambda s: s.sent == 5)
    assert (stats.dead, stats.retrying) == (0, 1)
    assert sorted(env.fake.subscription_ids_sent()) == sorted(GOOD + REFUSED)
    audit = await env.app[STORE].audit_log(MID_A)
    assert [a.action for a in audit][:1] == ["retry_dead"]
    await page.reload()
    await page.evaluate(
        "o => window.startJB(o)",
        {
            "activity": {"id": ACTIVITY_ID},
            "tokens": {},
            "schema": {},
            "endpoints": {},
            "width": 420,
            "height": 560,
            "initEvent": "initActivityRunningModal",
            "src": f"/running/modal?v={env.app[ASSET_VERSION]}",
        },
    )
    modal = page.frame_locator("#activity")
    await expect(count(modal, "sent")).to_have_text("5")
    await expect(count(modal, "dead")).to_have_text("0")
    await expect(modal.locator("#dead-section")).to_be_hidden()
    # Close asks JB to destroy the modal.
    await modal.get_by_role("button", name="Close").click()
    await page.wait_for_function("window.jbLog.some(e => e.e === 'destroy')")


async def test_without_data_and_without_a_session_the_views_say_so(
    browser: Browser, env: Env
) -> None:
    page, hover = await open_view(browser, env, "hover", 200, 243)
    await expect(hover.locator("#running-status")).to_have_text(
        "No contacts have reached this activity yet."
    )
    await expect(hover.locator("#running-counts")).to_be_hidden()
    await page.screenshot(path=str(ARTIFACTS / "running-hover-empty.png"))
    # Signed out: the view explains how to sign in instead of showing numbers.
    await page.context.clear_cookies()
    await page.reload()
    await page.evaluate(
        "o => window.startJB(o)",
        {
            "activity": {"id": ACTIVITY_ID},
            "tokens": {},
            "schema": {},
            "endpoints": {},
            "width": 200,
            "height": 243,
            "initEvent": "initActivityRunningHover",
            "src": f"/running/hover?v={env.app[ASSET_VERSION]}",
        },
    )
    frame = page.frame_locator("#activity")
    await expect(frame.locator("#running-status")).to_contain_text(
        "Sign in to the Rokt Calendar app"
    )


async def test_the_hover_of_a_subscribe_activity_counts_subscribed_contacts(
    browser: Browser, env: Env
) -> None:
    arguments = {"mid": MID_A, "action": "subscribe", "calendarCode": "acme-sports"}
    async with aiohttp.ClientSession() as http:
        for key in ("new-1", "new-2"):
            payload = execute_payload(arguments, contact_key=key, activity_id=ACTIVITY_ID)
            async with http.post(f"{env.base}/execute", data=sign(payload)) as resp:
                assert (await resp.json())["roktStatus"] == "subscribed"
    page, hover = await open_view(browser, env, "hover", 200, 243)
    await expect(count(hover, "subscribed")).to_have_text("2")
    await expect(count(hover, "sent")).to_have_text("0")
    await expect(hover.locator("#running-status")).to_have_text(
        "2 contacts got a calendar subscription."
    )
    await no_overflow(hover)
    await page.screenshot(path=str(ARTIFACTS / "running-hover-subscribe.png"))
