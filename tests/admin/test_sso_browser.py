"""Sign in with Marketing Cloud in real headless Chromium: /sso/login -> the fake's sign-in
page (another site, 127.0.0.1) -> /sso/callback -> the settings page of the chosen business
unit; then sign out, and the old cookie opens nothing.

The app is served on http://localhost, which Chromium treats as a secure context, so the
`Secure; SameSite=None; Partitioned` cookies behave as on https.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, async_playwright, expect

from activity import create_app
from activity.admin.sessions import COOKIE_NAME
from activity.devtools.bench.procs import free_port
from activity.devtools.fake_sfmc import FakeSfmc, running_fake_sfmc
from activity.devtools.jb import test_settings

pytestmark = [pytest.mark.browser]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]


@dataclass
class Stack:
    base: str
    fake: FakeSfmc
    browser: Browser


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_fake_sfmc(client_id="sfmc-cid", client_secret="sfmc-csecret") as (
        fake,
        url,
    ):
        port = free_port()
        base = f"http://localhost:{port}"
        settings = test_settings(
            tmp_path,
            public_url=base,
            sfmc_client_id="sfmc-cid",
            sfmc_client_secret="sfmc-csecret",
            sfmc_auth_url=url,
        )
        fake.redirect_uris = {f"{base}/sso/callback"}  # registered, as in the Web App integration
        runner = web.AppRunner(create_app(settings), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "localhost", port).start()
        try:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
                )
                try:
                    yield Stack(base, fake, browser)
                finally:
                    await browser.close()
        finally:
            await runner.cleanup()


async def test_click_through_sign_in_to_the_chosen_business_unit(stack: Stack) -> None:
    context = await stack.browser.new_context()
    page = await context.new_page()
    await page.goto(f"{stack.base}/sso/login?next=/settings")
    await expect(page.locator("#who")).to_contain_text("admin@example.com")
    await page.get_by_label("Business unit").select_option("100000002")
    await page.get_by_role("button", name="Allow").click()
    await page.wait_for_url(f"{stack.base}/settings")
    await expect(page.locator("#context")).to_contain_text("Business unit 100000002")
    await expect(page.locator("#sfmc-status")).to_contain_text(
        "Connected to Marketing Cloud as admin@example.com on "
    )
    (cookie,) = [c for c in await context.cookies() if c["name"] == COOKIE_NAME]
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "None"
    assert [r.status for r in stack.fake.calls("token")] == [200]

    # Sign out; a copy of the cookie taken before opens nothing afterwards.
    copied = await context.cookies()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Signed out")).to_be_visible()
    thief = await stack.browser.new_context()
    await thief.add_cookies(copied)  # type: ignore[arg-type]
    other = await thief.new_page()
    resp = await other.goto(f"{stack.base}/settings")
    assert resp is not None and resp.status == 401
    await thief.close()
    await context.close()


async def test_deny_shows_what_happened_and_signs_nobody_in(stack: Stack) -> None:
    context = await stack.browser.new_context()
    page = await context.new_page()
    await page.goto(f"{stack.base}/sso/login")
    await page.get_by_role("button", name="Deny").click()
    await page.wait_for_url(f"{stack.base}/sso/callback?*")
    await expect(page.locator("#why")).to_contain_text("declined")
    assert not [c for c in await context.cookies() if c["name"] == COOKIE_NAME]
    await context.close()


SFMC_ORIGIN = "https://mc.s50.exacttarget.com"


async def test_framed_in_marketing_cloud_the_popup_signs_the_frame_in(stack: Stack) -> None:
    """Marketing Cloud frames the Login URL; the fake's sign-in page refuses to be framed
    (X-Frame-Options: DENY), so it opens in a popup, which hands its session to the frame.
    This Chromium blocks unpartitioned third-party cookies: the frame's are Partitioned."""
    context = await stack.browser.new_context(viewport={"width": 1100, "height": 900})
    top = (
        "<!doctype html><title>Marketing Cloud</title><h1>Marketing Cloud</h1>"
        f'<iframe name="app" src="{stack.base}/sso/login?next=/settings" '
        'style="width:1000px;height:760px"></iframe>'
    )

    async def serve_top(route: object) -> None:
        await route.fulfill(body=top, content_type="text/html")  # type: ignore[attr-defined]

    # The service runs on localhost here; in production it is public and needs no permission.
    await context.grant_permissions(["local-network-access"], origin=SFMC_ORIGIN)
    await context.route(f"{SFMC_ORIGIN}/**", serve_top)
    page = await context.new_page()
    await page.goto(f"{SFMC_ORIGIN}/cloud/")
    frame = page.frame_locator("iframe[name=app]")
    async with page.expect_popup() as opened:
        await frame.get_by_role("link", name="Sign in (opens a new window)").click()
    popup = await opened.value
    await popup.get_by_label("Business unit").select_option("100000002")
    await popup.get_by_role("button", name="Allow").click()
    await popup.wait_for_event("close", timeout=15000)
    await expect(frame.locator("#context")).to_contain_text("Business unit 100000002")
    await expect(frame.locator("#sfmc-status")).to_contain_text("Connected to Marketing Cloud")
    # The frame's session works for forms too (its own CSRF token, its own cookie).
    await frame.get_by_label("Rokt account code").fill("acme-au")
    await frame.get_by_label("OAuth client ID").fill("rokt-client")
    await frame.get_by_label("OAuth client secret").fill("rokt-secret-1")
    await frame.get_by_role("button", name="Save").click()
    await expect(frame.locator("#notice")).to_have_text("Settings saved.")
    await context.close()
