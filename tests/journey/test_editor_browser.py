"""The config UI in real headless Chromium, framed by a page that plays Journey Builder.

tests/jb_harness.html talks to the editor through the real Postmonger library and answers with
the payloads in tests/jb_payloads.py (shaped as docs/protocol.md, "The configuration UI",
describes). Screenshots go to test-artifacts/. These tests are never skipped: `make test`
installs Chromium first.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, FrameLocator, Page, async_playwright, expect

from activity import create_app
from activity.admin.settings_service import Actor
from activity.appkeys import ASSET_VERSION, SETTINGS_SERVICE
from activity.devtools.jb import DEFAULT_SUBSCRIPTION_BINDING, ENTRY_KEY, test_settings
from tests.admin_support import login_token
from tests.jb_frame import harness_url
from tests.jb_payloads import (
    ACTIVITY,
    CONFIGURED_MID,
    ENDPOINTS,
    SCHEMA,
    TOKENS,
    UNCONFIGURED_MID,
    binding,
    saved_activity,
)

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
# Debian's chromium (installed by `make test` as root), else Playwright's own browser.
EXECUTABLE = str(CHROMIUM) if CHROMIUM.exists() else None
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SAMPLE_SUBSCRIPTION = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
ServerFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def server(aiohttp_server: ServerFactory, tmp_path: Path) -> TestServer:
    app = create_app(test_settings(tmp_path, run_delivery=False))
    started = await aiohttp_server(app)
    await app[SETTINGS_SERVICE].save(
        mid=str(CONFIGURED_MID),
        account_code="acme",
        client_id="client-1",
        client_secret="not-used-by-the-editor",
        actor=Actor(),
    )
    return started


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=EXECUTABLE, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


class JB:
    """One harness page: the JB modal around the editor, and what the browser complained about."""

    def __init__(self, page: Page, server: TestServer) -> None:
        self.page = page
        self.server = server
        self.console: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.console.append(f"console.{message.type}: {message.text}")

    async def open(
        self,
        activity: dict[str, Any] = ACTIVITY,
        tokens: dict[str, Any] = TOKENS,
        width: int = 900,
        height: int = 640,
    ) -> FrameLocator:
        await self.page.goto(await harness_url(self.page, str(self.server.make_url("/"))))
        version = self.server.app[ASSET_VERSION]
        options = {
            "activity": activity,
            "tokens": tokens,
            "schema": SCHEMA,
            "endpoints": ENDPOINTS,
            "width": width,
            "height": height,
            "src": f"/?v={version}",
        }
        await self.page.evaluate("options => window.startJB(options)", options)
        frame = self.page.frame_locator("#activity")
        await expect(frame.locator("#editor")).to_have_attribute("aria-busy", "false")
        return frame

    @property
    def done(self) -> Any:
        return self.page.locator("#jb-next")

    async def log(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.page.evaluate("window.jbLog")
        return result

    async def updates(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.page.evaluate("window.jbUpdates")
        return result

    async def click_done(self) -> dict[str, Any]:
        before = len(await self.updates())
        await self.done.click()
        await self.page.wait_for_function(f"window.jbUpdates.length > {before}")
        return (await self.updates())[-1]

    async def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        await self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
async def jb(browser: Browser, server: TestServer) -> AsyncIterator[JB]:
    context = await browser.new_context(
        viewport={"width": 1000, "height": 780}, timezone_id="Europe/Berlin"
    )
    page = await context.new_page()
    yield JB(page, server)
    await context.close()


def label(frame: FrameLocator, text: str) -> Any:
    return frame.get_by_label(text, exact=True)


def error_of(frame: FrameLocator, field: str) -> Any:
    return frame.locator(f'[data-field="{field}"] .editor__error')


EXPECTED_IN_ARGUMENTS: list[dict[str, Any]] = [
    {"mid": str(CONFIGURED_MID)},
    {"eid": "500000000"},
    {"action": "create"},
    {"eventId": "summer-sale-2026"},
    {"eventScope": "contact"},
    {"title": "Hello <<First Name>>, your sale starts!"},
    {"description": "Three days of offers.\nBring a friend."},
    {"location": "Rokt Store, 5th Avenue"},
    {"start": "2026-12-01T09:00"},
    {"end": "2026-12-01T10:30"},
    {"timezone": "Eastern Standard Time"},
    {"allDay": False},
    {"notifyBefore": 30},
    {"onError": "eject"},
    {"calendarSubscriptionId": DEFAULT_SUBSCRIPTION_BINDING},
    {"<<First Name>>": binding("First Name")},
]
# The canvas shows the title as a marketer reads it, without the raw <<...>> marker.
EXPECTED_ACTIVITY = saved_activity(EXPECTED_IN_ARGUMENTS, "Hello First Name, your sale starts!")


async def test_marketer_defines_an_event_and_done_sends_the_exact_activity(jb: JB) -> None:
    frame = await jb.open()
    await expect(jb.done).to_have_text("Done")
    await expect(jb.done).to_be_disabled()
    # The browser's zone (Europe/Berlin) is the default for a new activity.
    await expect(label(frame, "Time zone")).to_have_value("W. Europe Standard Time")
    await expect(frame.locator("#summary-title")).to_have_text(
        "Fill in the required fields (*) to enable Done."
    )
    await jb.screenshot("editor-new-900x640")

    await label(frame, "Action").select_option(label="Send a new event")
    await label(frame, "Event ID").fill("summer-sale-2026")
    await label(frame, "Event scope").select_option(label="A personal event per contact")
    title = label(frame, "Event title")
    await title.fill("Hello , your sale starts!")
    await title.evaluate("input => input.setSelectionRange(6, 6)")
    # Insert field by keyboard: open the menu, walk to "First Name", insert at the cursor.
    await frame.get_by_role("button", name="Insert field into Event title").press("Enter")
    menu = frame.get_by_role("menu", name="Entry-source fields for Event title")
    await expect(menu.get_by_role("menuitem")).to_have_text(
        ["ContactKey", "Email", "Mobile", "First Name", "Appointment Start", "Rokt Subscription"]
    )
    await expect(menu.get_by_role("menuitem", name="ContactKey")).to_be_focused()
    for _ in range(3):
        await jb.page.keyboard.press("ArrowDown")
    await jb.page.keyboard.press("Enter")
    await expect(title).to_have_value("Hello <<First Name>>, your sale starts!")
    await expect(title).to_be_focused()

    await label(frame, "Description").fill("Three days of offers.\nBring a friend.")
    await label(frame, "Location").fill("Rokt Store, 5th Avenue")
    await label(frame, "Start").fill("2026-12-01T09:00")
    await label(frame, "End").fill("2026-12-01T10:30")
    zone = label(frame, "Time zone")
    await zone.fill("new york")
    await expect(frame.locator("#timezone-listbox").get_by_role("option")).to_have_count(1)
    await zone.press("ArrowDown")
    await zone.press("Enter")
    await expect(zone).to_have_value("Eastern Standard Time")
    await expect(frame.locator("#timezone-hint")).to_contain_text("America/New_York")
    await label(frame, "Reminder (minutes before)").fill("30")
    await expect(label(frame, "Calendar subscription ID")).to_have_value(
        DEFAULT_SUBSCRIPTION_BINDING
    )
    await label(frame, "If the event cannot be sent").select_option(
        label="Remove the contact from the journey"
    )

    # Preview with a sample contact: the sample is prefilled from the field name, then edited.
    sample = label(frame, "<<First Name>>")
    await expect(sample).to_have_value("First Name")
    await expect(frame.locator("#preview-title")).to_have_text(
        "Hello First Name, your sale starts!"
    )
    await sample.fill("Jane")
    await expect(frame.locator("#preview-title")).to_have_text("Hello Jane, your sale starts!")
    await expect(frame.locator("#preview-when")).to_have_text(
        "Tue 2026-12-01 09:00–10:30 · Eastern Standard Time (America/New_York)"
    )
    await expect(frame.locator("#preview-utc")).to_have_text("Tue 2026-12-01 14:00–15:30 UTC")
    await expect(frame.locator("#preview-location")).to_have_text("Rokt Store, 5th Avenue")
    await expect(frame.locator("#preview-reminder")).to_have_text("30 minutes before")
    await expect(frame.locator("#preview-event-id")).to_have_text(
        "summer-sale-2026_0031x00000AbCdEf"
    )
    await expect(frame.locator(".editor__request-line")).to_have_text(
        ["POST /v1/subscriptionevent/your-account"]
    )
    body = json.loads(await frame.locator(".editor__request-body").inner_text())
    assert body == {
        "event": {
            "eventId": "summer-sale-2026_0031x00000AbCdEf",
            "title": "Hello Jane, your sale starts!",
            "description": "Three days of offers.\nBring a friend.",
            "location": "Rokt Store, 5th Avenue",
            "timezone": "Eastern Standard Time",
            "timezoneIanaId": "America/New_York",
            "start": "2026-12-01T09:00:00",
            "end": "2026-12-01T10:30:00",
            "allDayEvent": False,
            "notifyBefore": 30,
        },
        "subscriptionIds": [SAMPLE_SUBSCRIPTION],
    }

    await expect(frame.locator("#summary-title")).to_have_text(
        "All checks pass. Click Done to save."
    )
    await expect(jb.done).to_be_enabled()
    await jb.screenshot("editor-configured-900x640")
    assert await jb.click_done() == EXPECTED_ACTIVITY

    log = await jb.log()
    assert [entry["e"] for entry in log[:3]] == ["ready", "requestTokens", "requestSchema"]
    buttons = [entry["a"] for entry in log if entry["e"] == "updateButton"]
    assert buttons[0] == {"button": "next", "text": "done", "visible": True, "enabled": False}
    assert buttons[-1] == {"button": "next", "text": "done", "visible": True, "enabled": True}
    assert jb.console == []


async def test_reopening_the_saved_activity_restores_every_field(jb: JB) -> None:
    frame = await jb.open(activity=EXPECTED_ACTIVITY)
    values = {
        "Action": "create",
        "Event ID": "summer-sale-2026",
        "Event scope": "contact",
        "Event title": "Hello <<First Name>>, your sale starts!",
        "Description": "Three days of offers.\nBring a friend.",
        "Location": "Rokt Store, 5th Avenue",
        "Start": "2026-12-01T09:00",
        "End": "2026-12-01T10:30",
        "Time zone": "Eastern Standard Time",
        "Reminder (minutes before)": "30",
        "Calendar subscription ID": DEFAULT_SUBSCRIPTION_BINDING,
        "If the event cannot be sent": "eject",
    }
    for text, value in values.items():
        await expect(label(frame, text)).to_have_value(value)
    await expect(label(frame, "All-day event")).not_to_be_checked()
    await expect(frame.locator("#preview-title")).to_have_text(
        "Hello First Name, your sale starts!"
    )
    await expect(jb.done).to_be_enabled()
    await jb.screenshot("editor-reopened-900x640")
    # Done without changes sends back exactly what was saved.
    assert await jb.click_done() == EXPECTED_ACTIVITY
    assert jb.console == []


async def fill_valid_event(frame: FrameLocator) -> None:
    await label(frame, "Event ID").fill("summer-sale-2026")
    await label(frame, "Event title").fill("Summer Sale starts")
    await label(frame, "Start").fill("2026-12-01T09:00")
    await label(frame, "End").fill("2026-12-01T10:00")
    await label(frame, "Time zone").fill("Eastern Standard Time")
    await label(frame, "Time zone").press("Escape")


async def test_every_pre_flight_check_appears_next_to_its_field(jb: JB) -> None:
    tokens = {**TOKENS, "MID": UNCONFIGURED_MID}
    # Whether a business unit has settings is stored state: told only to a signed-in admin
    # of that unit (in Marketing Cloud, the Partitioned session cookie reaches this frame).
    signed_in = await jb.page.context.request.post(
        str(jb.server.make_url("/login")),
        form={"jwt": login_token(mid=str(UNCONFIGURED_MID))},
        max_redirects=0,
    )
    assert signed_in.status == 302
    frame = await jb.open(tokens=tokens)
    alerts = frame.locator("#page-alerts")
    await expect(alerts).to_contain_text("This business unit has no Rokt settings (MID 500000099)")
    await fill_valid_event(frame)
    await expect(frame.locator("#summary-title")).to_have_text(
        "All checks pass. Click Done to save."
    )

    cases: list[tuple[str, str, str, str]] = [
        ("Event title", "title", "", "Required: enter the event title."),
        ("Event ID", "eventId", "summer sale!", "Event ID is 'summer sale!'; expected 1-100"),
        (
            "Event title",
            "title",
            "Hi <<Nickname>>",
            "<<Nickname>> is not a field of this journey's entry source.",
        ),
        ("Start", "start", "1 Dec 2026 9am", "Start is '1 Dec 2026 9am'; expected a local time"),
        ("Start", "start", "2026-02-30T09:00", "not a real date or time"),
        ("End", "end", "2026-12-01T08:00", "is before start 2026-12-01T09:00"),
        ("Time zone", "timezone", "Mars Standard Time", "is not a known time zone"),
        ("Reminder (minutes before)", "notifyBefore", "-5", "Reminder (minutes before) is '-5'"),
    ]
    for text, field, bad, message in cases:
        control = label(frame, text)
        good = await control.input_value()
        await control.fill(bad)
        await control.press("Tab")
        await expect(error_of(frame, field)).to_contain_text(message)
        await expect(control).to_have_attribute("aria-invalid", "true")
        await expect(jb.done).to_be_disabled()
        await jb.screenshot(f"editor-check-{field}")
        await control.fill(good)
        await control.press("Tab")
        await expect(error_of(frame, field)).to_have_count(0)

    subscription = label(frame, "Calendar subscription ID")
    await subscription.select_option(label="Choose a source…")
    await expect(error_of(frame, "calendarSubscriptionId")).to_have_text(
        "Required: choose where each contact's calendar subscription ID comes from."
    )
    # JB may still send clickedNext: nothing is saved, and the editor says why.
    await jb.page.evaluate("window.jbClickNext()")
    summary = frame.locator("#summary")
    await expect(summary).to_contain_text("Done is blocked until this problem is fixed:")
    await expect(summary).to_contain_text("Calendar subscription ID: Required")
    await expect(frame.locator("#summary-title")).to_be_focused()
    assert await jb.updates() == []

    # The missing Rokt settings are a warning: the marketer may save, an admin adds them later.
    await subscription.select_option(label="Entry source: Rokt Subscription")
    await expect(jb.done).to_be_enabled()
    saved = await jb.click_done()
    merged = {
        k: v for item in saved["arguments"]["execute"]["inArguments"] for k, v in item.items()
    }
    assert merged["mid"] == str(UNCONFIGURED_MID)
    assert merged["calendarSubscriptionId"] == binding("Rokt Subscription")
    assert jb.console == []


async def test_remove_needs_no_event_details_and_previews_the_delete(jb: JB) -> None:
    frame = await jb.open()
    await label(frame, "Action").select_option(
        label="Remove the event from this contact's calendar"
    )
    await expect(label(frame, "Event title")).to_be_hidden()
    await label(frame, "Event ID").fill("summer-sale-2026")
    await label(frame, "Event scope").select_option(label="One event for everyone")
    await label(frame, "Sample subscription ID").fill("7C9E6679-7425-40DE-944B-E07FC1F90AE7")
    await expect(frame.locator(".editor__request-line")).to_have_text(
        [
            "DELETE /v2/subscription/your-account/7c9e6679-7425-40de-944b-e07fc1f90ae7"
            "/subscriptionevent/summer-sale-2026"
        ]
    )
    await expect(frame.locator("#preview-title")).to_have_text(
        "Removes event summer-sale-2026 from this contact's calendar"
    )
    saved = await jb.click_done()
    assert saved["name"] == "Remove: summer-sale-2026"
    merged = {
        k: v for item in saved["arguments"]["execute"]["inArguments"] for k, v in item.items()
    }
    assert (merged["action"], merged["eventScope"]) == ("remove", "shared")
    assert not any(key.startswith("<<") for key in merged)
    assert jb.console == []


async def test_unsubscribe_asks_for_the_calendar_code_and_previews_the_deactivation(
    jb: JB,
) -> None:
    frame = await jb.open()
    await label(frame, "Action").select_option(label="Unsubscribe the contact from a calendar")
    await expect(label(frame, "Event ID")).to_be_hidden()
    await expect(label(frame, "Event title")).to_be_hidden()
    await label(frame, "Calendar code").fill("bad code/x")
    await label(frame, "Calendar code").press("Tab")
    await expect(error_of(frame, "calendarCode")).to_contain_text("Calendar code is 'bad code/x'")
    await expect(jb.done).to_be_disabled()
    await label(frame, "Calendar code").fill("vip-calendar")
    await expect(frame.locator(".editor__request-line")).to_have_text(
        ["DELETE /v1/subscription/your-account/vip-calendar"]
    )
    body = json.loads(await frame.locator(".editor__request-body").inner_text())
    assert body == {
        "id": SAMPLE_SUBSCRIPTION,
        "unsubscribeReasonId": None,
        "unsubscribeReasonText": "Unsubscribed by a Marketing Cloud journey",
    }
    await expect(frame.locator("#preview-title")).to_have_text(
        "Unsubscribes this contact from calendar vip-calendar"
    )
    saved = await jb.click_done()
    assert saved["name"] == "Unsubscribe: vip-calendar"
    merged = {
        k: v for item in saved["arguments"]["execute"]["inArguments"] for k, v in item.items()
    }
    assert (merged["action"], merged["calendarCode"]) == ("unsubscribe", "vip-calendar")
    assert jb.console == []


@pytest.mark.parametrize(("width", "height"), [(900, 640), (640, 520), (400, 480)])
async def test_editor_fits_jb_modal_sizes(jb: JB, width: int, height: int) -> None:
    frame = await jb.open(activity=EXPECTED_ACTIVITY, width=width, height=height)
    await expect(frame.locator("#preview-title")).to_have_text(
        "Hello First Name, your sale starts!"
    )
    overflow = await frame.locator("html").evaluate("html => html.scrollWidth - html.clientWidth")
    assert overflow == 0
    for text in ("Event title", "Time zone", "Calendar subscription ID"):
        box = await label(frame, text).bounding_box()
        assert box is not None and box["width"] > 60, text
    await jb.screenshot(f"editor-{width}x{height}")
    assert jb.console == []


async def test_keyboard_reaches_and_works_every_control(jb: JB) -> None:
    frame = await jb.open(activity=EXPECTED_ACTIVITY)
    await expect(frame.locator("#preview-title")).to_have_text(
        "Hello First Name, your sale starts!"
    )
    await label(frame, "Action").focus()
    order = []
    for _ in range(18):
        focused = frame.locator(":focus")
        order.append(await focused.evaluate("e => e.getAttribute('aria-label') || e.id"))
        await jb.page.keyboard.press("Tab")
    assert order == [
        "action",
        "eventId",
        "eventScope",
        "title",
        "Insert field into Event title",
        "description",
        "Insert field into Description",
        "location",
        "Insert field into Location",
        "start",
        "Insert field into Start",
        "end",
        "Insert field into End",
        "timezone",
        "notifyBefore",
        "allDay",
        "calendarSubscriptionId",
        "onError",
    ]

    # The insert menu opens with ArrowDown and Escape returns focus to its button.
    button = frame.get_by_role("button", name="Insert field into Location")
    await button.press("ArrowDown")
    await expect(button).to_have_attribute("aria-expanded", "true")
    menu = frame.get_by_role("menu", name="Entry-source fields for Location")
    await expect(menu.get_by_role("menuitem", name="ContactKey")).to_be_focused()
    await jb.page.keyboard.press("End")
    await expect(menu.get_by_role("menuitem", name="Rokt Subscription")).to_be_focused()
    await jb.page.keyboard.press("Escape")
    await expect(button).to_have_attribute("aria-expanded", "false")
    await expect(button).to_be_focused()

    # The time-zone list opens with ArrowDown and closes with Escape, keeping the value.
    zone = label(frame, "Time zone")
    await zone.press("ArrowDown")
    await expect(zone).to_have_attribute("aria-expanded", "true")
    await expect(frame.locator('#timezone-listbox [aria-selected="true"]')).to_contain_text(
        "Eastern Standard Time"
    )
    await zone.press("Escape")
    await expect(zone).to_have_attribute("aria-expanded", "false")
    await expect(zone).to_have_value("Eastern Standard Time")

    # Space ticks "All-day event"; the preview shows the day, End is no longer required.
    await label(frame, "All-day event").press("Space")
    await expect(label(frame, "All-day event")).to_be_checked()
    await expect(frame.locator("#end-required")).to_be_hidden()
    await expect(frame.locator("#preview-when")).to_have_text(
        "Tue 2026-12-01, all day · Eastern Standard Time (America/New_York)"
    )
    saved = await jb.click_done()
    assert {"allDay": True} in saved["arguments"]["execute"]["inArguments"]
    assert jb.console == []


async def test_a_copied_journey_rebinds_fields_to_its_own_entry_source(jb: JB) -> None:
    old_key = "DEAudience-00000000-1111-2222-3333-444444444444"
    in_arguments = [
        {k: (v.replace(ENTRY_KEY, old_key) if isinstance(v, str) else v)}
        for entry in EXPECTED_IN_ARGUMENTS
        for k, v in entry.items()
    ]
    subscription = next(i for i, e in enumerate(in_arguments) if "calendarSubscriptionId" in e)
    in_arguments[subscription] = {
        "calendarSubscriptionId": f'{{{{Event.{old_key}."Rokt Subscription"}}}}'
    }
    frame = await jb.open(activity=saved_activity(in_arguments, "Copied"))
    await expect(label(frame, "Calendar subscription ID")).to_have_value(
        binding("Rokt Subscription")
    )
    saved = await jb.click_done()
    merged = {
        k: v for item in saved["arguments"]["execute"]["inArguments"] for k, v in item.items()
    }
    assert merged["<<First Name>>"] == binding("First Name")
    assert merged["calendarSubscriptionId"] == binding("Rokt Subscription")

    # A source field that this entry source does not have is flagged, not silently kept.
    in_arguments[subscription] = {"calendarSubscriptionId": binding("Legacy Subscription")}
    frame = await jb.open(activity=saved_activity(in_arguments, "Copied"))
    await expect(error_of(frame, "calendarSubscriptionId")).to_contain_text(
        "is not a field of this journey's entry source"
    )
    await expect(jb.done).to_be_disabled()
    assert jb.console == []


SUBSCRIBE_IN_ARGUMENTS: list[dict[str, Any]] = [
    {"mid": str(CONFIGURED_MID)},
    {"eid": "500000000"},
    {"action": "subscribe"},
    {"onError": "continue"},
    {"calendarCode": "acme-sports"},
    {"subscriptionMethod": "Google"},
    {"emailAddress": binding("Email")},
    {"redirectTo": "https://brand.example.com/added"},
    {"utmSource": "journey"},
    {"utmMedium": ""},
    {"utmCampaign": "spring-<<First Name>>"},
    {"utmContent": ""},
    {"<<First Name>>": binding("First Name")},
]


async def test_marketer_configures_subscribe_and_done_sends_only_its_arguments(jb: JB) -> None:
    frame = await jb.open()
    await label(frame, "Action").select_option(label="Subscribe the contact to a calendar")
    for hidden in ("Event ID", "Event title", "Calendar subscription ID", "Redirect URL"):
        await expect(label(frame, hidden)).to_be_hidden()
    await expect(frame.get_by_role("button", name="Choose an existing event")).to_be_hidden()
    await expect(frame.locator("#calendarCode-effect")).to_contain_text(
        "Each contact gets their own subscription"
    )
    await label(frame, "Calendar code").fill("acme-sports")
    await label(frame, "Subscription method").select_option(label="Google Calendar")
    # Google needs the page to come back to: Done stays off until it is given.
    redirect = label(frame, "Redirect URL")
    await expect(redirect).to_be_visible()
    await redirect.focus()
    await redirect.press("Tab")
    await expect(error_of(frame, "redirectTo")).to_contain_text("a Google subscription needs")
    await expect(jb.done).to_be_disabled()
    await redirect.fill("brand.example.com/added")
    await redirect.press("Tab")
    await expect(error_of(frame, "redirectTo")).to_contain_text("expected an absolute https://")
    await redirect.fill("https://brand.example.com/added")

    email = label(frame, "Email address")
    # Email-typed entry-source fields come first.
    await expect(email.locator("option").nth(1)).to_have_text("Entry source: Email")
    await email.select_option(label="Entry source: Email")
    await label(frame, "UTM source").fill("journey")
    campaign = label(frame, "UTM campaign")
    await campaign.fill("spring-")
    await frame.get_by_role("button", name="Insert field into UTM campaign").click()
    menu = frame.get_by_role("menu", name="Entry-source fields for UTM campaign")
    await menu.get_by_role("menuitem", name="First Name").click()
    await expect(campaign).to_have_value("spring-<<First Name>>")

    await label(frame, "<<First Name>>").fill("Jane")
    await expect(frame.locator("#preview-title")).to_have_text(
        "Subscribes this contact to calendar acme-sports (Google)"
    )
    await expect(frame.locator(".editor__request-line")).to_have_text(
        ["POST /v2/subscribe/your-account/acme-sports"]
    )
    await expect(frame.locator(".editor__request-body")).to_contain_text("spring-Jane")
    body = json.loads(await frame.locator(".editor__request-body").inner_text())
    assert body == {
        "subscriberId": "0031x00000AbCdEf",  # the sample contact's key
        "subscriptionMethod": "Google",
        "emailAddress": "ada@example.com",
        "redirectTo": "https://brand.example.com/added",
        "utmSource": "journey",
        "utmCampaign": "spring-Jane",
    }
    await expect(frame.locator("#summary-title")).to_have_text(
        "All checks pass. Click Done to save."
    )
    await jb.screenshot("editor-subscribe-900x640")
    expected = saved_activity(SUBSCRIBE_IN_ARGUMENTS, "Subscribe: acme-sports")
    assert await jb.click_done() == expected
    assert jb.console == []


async def test_reopening_a_subscribe_activity_restores_it(jb: JB) -> None:
    saved = saved_activity(SUBSCRIBE_IN_ARGUMENTS, "Subscribe: acme-sports")
    frame = await jb.open(activity=saved)
    values = {
        "Action": "subscribe",
        "Calendar code": "acme-sports",
        "Subscription method": "Google",
        "Email address": binding("Email"),
        "Redirect URL": "https://brand.example.com/added",
        "UTM source": "journey",
        "UTM campaign": "spring-<<First Name>>",
    }
    for text, value in values.items():
        await expect(label(frame, text)).to_have_value(value)
    await expect(label(frame, "Event title")).to_be_hidden()
    await expect(jb.done).to_be_enabled()
    assert await jb.click_done() == saved
    # Back to WebCal: no redirect is written.
    await label(frame, "Subscription method").select_option("WebCal")
    await expect(label(frame, "Redirect URL")).to_be_hidden()
    webcal = await jb.click_done()
    written = [k for item in webcal["arguments"]["execute"]["inArguments"] for k in item]
    assert "redirectTo" not in written and "subscriptionMethod" in written
    assert jb.console == []


async def test_subscribe_editor_fits_a_small_modal(jb: JB) -> None:
    saved = saved_activity(SUBSCRIBE_IN_ARGUMENTS, "Subscribe: acme-sports")
    frame = await jb.open(activity=saved, width=400, height=480)
    await expect(frame.locator("#preview-title")).to_have_text(
        "Subscribes this contact to calendar acme-sports (Google)"
    )
    overflow = await frame.locator("html").evaluate("html => html.scrollWidth - html.clientWidth")
    assert overflow == 0
    for text in ("Calendar code", "Redirect URL", "UTM campaign", "Email address"):
        box = await label(frame, text).bounding_box()
        assert box is not None and box["width"] > 60, text
    await jb.screenshot("editor-subscribe-400x480")
    assert jb.console == []
