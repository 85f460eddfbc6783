"""The config UI's Journey Builder cases in headless Chromium, framed by the JB harness with
the real Postmonger: choosing an existing event from the fake Rokt (with the admin session),
the waiting state outside JB, tokens without a MID, the read-only view, the dirty state.

The app is opened on http://localhost, a secure context for Chromium, so the Secure session
cookie works as on https; the session comes from the legacy SSO form post.
"""

from __future__ import annotations

import asyncio
import copy
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
    execute_payload,
    rokt_event,
    sign,
    store_demo_settings,
    test_settings,
)
from activity.storage.models import SENT
from tests.admin_support import login_token
from tests.jb_frame import harness_url
from tests.jb_payloads import ACTIVITY, CONFIGURED_MID, ENDPOINTS, SCHEMA, TOKENS, saved_activity

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning"),
]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
EXECUTABLE = str(CHROMIUM) if CHROMIUM.exists() else None
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
MID = str(CONFIGURED_MID)


class Env:
    def __init__(self, app: web.Application, base: str, fake: FakeRokt, browser: Browser) -> None:
        self.app, self.base, self.fake, self.browser = app, base, fake, browser
        self.errors: list[str] = []

    async def page(self, *, signed_in: bool = True) -> Page:
        context = await self.browser.new_context(
            viewport={"width": 1000, "height": 800}, timezone_id="America/New_York"
        )
        if signed_in:
            answer = await context.request.post(
                f"{self.base}/login", form={"jwt": login_token(mid=MID)}, max_redirects=0
            )
            assert answer.status == 302
        page = await context.new_page()
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on(
            "console",
            lambda m: self.errors.append(m.text) if m.type == "error" else None,
        )
        return page

    async def open(
        self,
        page: Page,
        activity: dict[str, Any] = ACTIVITY,
        tokens: dict[str, Any] = TOKENS,
    ) -> FrameLocator:
        await page.goto(await harness_url(page, self.base))
        options = {
            "activity": activity,
            "tokens": tokens,
            "schema": SCHEMA,
            "endpoints": ENDPOINTS,
            "width": 900,
            "height": 640,
            "src": f"/?v={self.app[ASSET_VERSION]}",
        }
        await page.evaluate("options => window.startJB(options)", options)
        frame = page.frame_locator("#activity")
        await expect(frame.locator("#editor")).to_have_attribute("aria-busy", "false")
        return frame


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    fake, rokt_url, rokt = await start_fake_rokt()
    fake.calendars.add("acme", "cal-1", "main")
    for n in range(12):
        title = "Winter Gala" if n == 9 else f"Match day {n:02d}"
        fake.events[("acme", f"ev-{n:02d}")] = rokt_event(
            f"ev-{n:02d}",
            title=title,
            description=f"Kick-off {n}",
            location="Stadium",
            start=f"2026-12-{n + 1:02d}T18:00:00",
            end=f"2026-12-{n + 1:02d}T20:30:00",
            notifyBefore=45,
        )
    app = create_app(test_settings(tmp_path, rokt_api_url=rokt_url))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    await store_demo_settings(app, MID, calendar_ids=("cal-1",), enterprise_id="500000000")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=EXECUTABLE, args=CHROMIUM_ARGS, headless=True
        )
        ARTIFACTS.mkdir(exist_ok=True)
        yield Env(app, f"http://localhost:{runner.addresses[0][1]}", fake, browser)
        await browser.close()
    await runner.cleanup()
    await rokt.cleanup()


def label(frame: FrameLocator, text: str) -> Any:
    return frame.get_by_label(text, exact=True)


def merged(activity: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for item in activity["arguments"]["execute"]["inArguments"] for k, v in item.items()
    }


async def click_done(page: Page) -> dict[str, Any]:
    before = await page.evaluate("window.jbUpdates.length")
    await page.locator("#jb-next").click()
    await page.wait_for_function(f"window.jbUpdates.length > {before}")
    saved: dict[str, Any] = (await page.evaluate("window.jbUpdates"))[-1]
    return saved


async def test_an_existing_event_is_picked_saved_as_an_update_and_rokt_gets_it(env: Env) -> None:
    page = await env.page()
    frame = await env.open(page)
    await frame.get_by_role("button", name="Choose an existing event").click()
    status = frame.locator("#picker-status")
    await expect(status).to_have_text("12 events in calendar cal-1. Page 1 of 2.")
    await expect(frame.locator(".editor__picker-title")).to_have_count(8)
    await frame.get_by_role("button", name="Next page").click()
    await expect(status).to_have_text("12 events in calendar cal-1. Page 2 of 2.")
    await expect(frame.locator(".editor__picker-title")).to_have_text(
        ["Match day 08", "Winter Gala", "Match day 10", "Match day 11"]
    )
    await label(frame, "Search your Rokt events").fill("gala")
    await expect(status).to_have_text("1 event in calendar cal-1. Page 1 of 1.")
    await page.screenshot(path=str(ARTIFACTS / "editor-choose-event.png"))
    await frame.get_by_role("button", name="Use Winter Gala").click()

    await expect(frame.locator("#picker-panel")).to_be_hidden()
    await expect(frame.locator("#picker-result")).to_have_text(
        "Filled in from Rokt event ev-09. Now choose the action."
    )
    await expect(label(frame, "Action")).to_be_focused()
    for text, value in {
        "Event ID": "ev-09",
        "Event scope": "shared",
        "Event title": "Winter Gala",
        "Description": "Kick-off 9",
        "Location": "Stadium",
        "Start": "2026-12-10T18:00",
        "End": "2026-12-10T20:30",
        "Time zone": "Eastern Standard Time",
        "Reminder (minutes before)": "45",
    }.items():
        await expect(label(frame, text)).to_have_value(value)
    await label(frame, "Action").select_option(label="Update an event")
    # The preview names the business unit's real account code, not a stand-in.
    await expect(frame.locator(".editor__request-line")).to_have_text(
        ["POST /v1/subscriptionevent/acme/update"]
    )
    await expect(page.locator("#jb-next")).to_be_enabled()
    saved = await click_done(page)
    args = merged(saved)
    assert (args["action"], args["eventId"], args["eventScope"]) == ("update", "ev-09", "shared")
    assert (args["title"], args["start"], args["end"]) == (
        "Winter Gala",
        "2026-12-10T18:00",
        "2026-12-10T20:30",
    )
    assert saved["name"] == "Winter Gala"
    log = [e["e"] for e in await page.evaluate("window.jbLog")]
    assert "setActivityDirtyState" in log
    assert env.errors == []

    # The saved activity, run by JB for one contact, updates that very event at Rokt.
    args["calendarSubscriptionId"] = str(uuid.uuid4())
    args["title"] = "Winter Gala (moved)"
    payload = execute_payload(args, contact_key="C1")
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{env.base}/execute", data=sign(payload)) as resp,
    ):
        assert (await resp.json())["roktStatus"] == "queued"
    deadline = time.monotonic() + 20
    while not [c for c in await env.app[STORE].delivery_counts() if c.state == SENT]:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    [update] = env.fake.calls("update")
    assert (update.status, update.json["eventId"]) == (202, "ev-09")
    assert env.fake.events[("acme", "ev-09")]["title"] == "Winter Gala (moved)"


async def test_without_a_session_the_picker_says_why_and_editing_goes_on(env: Env) -> None:
    page = await env.page(signed_in=False)
    frame = await env.open(page)
    await frame.get_by_role("button", name="Choose an existing event").click()
    await expect(frame.locator("#picker-status")).to_contain_text(
        "Sign in to the Rokt Calendar app"
    )
    await label(frame, "Event ID").fill("typed-by-hand")
    await label(frame, "Event title").fill("Typed")
    await label(frame, "Start").fill("2026-12-01T09:00")
    await label(frame, "End").fill("2026-12-01T10:00")
    await expect(page.locator("#jb-next")).to_be_enabled()
    # Without the session the preview keeps the stand-in account code.
    await expect(frame.locator(".editor__request-line")).to_have_text(
        ["POST /v1/subscriptionevent/your-account"]
    )
    assert merged(await click_done(page))["eventId"] == "typed-by-hand"


async def test_opened_outside_journey_builder_the_editor_waits_and_says_so(env: Env) -> None:
    page = await env.page(signed_in=False)
    await page.goto(f"{env.base}/")
    await expect(page.locator("#waiting-message")).to_contain_text(
        "works only inside Journey Builder"
    )
    await expect(page.locator("#form")).to_be_hidden()
    await expect(page.get_by_label("Event ID", exact=True)).to_be_hidden()
    await page.screenshot(path=str(ARTIFACTS / "editor-outside-jb.png"))
    assert env.errors == []


async def test_tokens_without_mid_ask_for_the_business_unit_and_can_be_saved(env: Env) -> None:
    page = await env.page()
    tokens = {k: v for k, v in TOKENS.items() if k not in ("MID", "EID", "UID")}
    frame = await env.open(page, tokens=tokens)
    field = label(frame, "Business unit (MID)")
    await expect(field).to_be_visible()
    await expect(frame.locator("#mid-options option")).to_have_count(1)
    await expect(frame.locator("#mid-options option")).to_have_attribute("value", MID)
    await label(frame, "Event ID").fill("summer-sale")
    await label(frame, "Event title").fill("Summer Sale")
    await label(frame, "Start").fill("2026-12-01T09:00")
    await label(frame, "End").fill("2026-12-01T10:00")
    await frame.locator("#summary").get_by_text("Business unit (MID)").wait_for()
    await expect(frame.locator("#summary")).to_contain_text(
        "Required: enter the MID of the business unit this journey belongs to."
    )
    await expect(page.locator("#jb-next")).to_be_disabled()
    await field.fill(MID)
    await expect(page.locator("#jb-next")).to_be_enabled()
    args = merged(await click_done(page))
    assert args["mid"] == MID
    assert env.errors == []


async def test_a_running_activity_opens_read_only(env: Env) -> None:
    page = await env.page(signed_in=False)
    activity = saved_activity(
        [
            {"mid": MID},
            {"action": "cancel"},
            {"eventId": "ev-01"},
            {"eventScope": "shared"},
            {"calendarSubscriptionId": "3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
        ],
        "Cancel: ev-01",
    )
    activity["editable"] = False
    frame = await env.open(page, activity=copy.deepcopy(activity))
    await expect(frame.locator("#read-only")).to_contain_text("shown read-only")
    await expect(label(frame, "Event ID")).to_be_disabled()
    await expect(label(frame, "Event ID")).to_have_value("ev-01")
    await expect(frame.get_by_role("button", name="Choose an existing event")).to_be_disabled()
    await page.evaluate("window.jbClickNext()")
    await page.wait_for_function("window.jbUpdates.length > 0")
    assert (await page.evaluate("window.jbUpdates"))[-1] == activity
    log = [e["e"] for e in await page.evaluate("window.jbLog")]
    assert "setActivityDirtyState" not in log
