"""The admin's whole experience in real headless Chromium.

Cookies are `Secure; SameSite=None`, so the app is served on http://localhost, which
Chromium treats as a secure context (Secure cookies work there, as on https). A fake
Marketing Cloud on 127.0.0.1, a different site, posts the signed SSO form the way SFMC
does: cross-site, top level or into an iframe on an `*.exacttarget.com` page.
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from activity import create_app
from activity.devtools.fake_rokt import running_fake_rokt
from activity.devtools.jb import test_settings
from tests.admin_support import EID, MID_A, MID_B, login_token

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning"),
]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
CLIENT_ID = "rokt-client-1"
SECRET = "br0wser-Rokt-Secret-4c2e91"
SFMC_ORIGIN = "https://mc.s50.exacttarget.com"


def _sso_form(action: str, token: str, target: str = "_self") -> str:
    return (
        "<!doctype html><title>Marketing Cloud</title>"
        f'<form id="sso" method="post" action="{html.escape(action)}" target="{target}">'
        f'<input type="hidden" name="jwt" value="{html.escape(token)}"></form>'
        "<script>document.getElementById('sso').submit()</script>"
    )


@dataclass
class Stack:
    base: str  # the app, on http://localhost
    sfmc: str  # the fake Marketing Cloud, on http://127.0.0.1
    browser: Browser

    async def signed_in_page(self, mid: str, **claims: object) -> tuple[BrowserContext, Page]:
        context = await self.browser.new_context(viewport={"width": 1000, "height": 900})
        page = await context.new_page()
        await page.goto(f"{self.sfmc}/sso?mid={mid}&eid={claims.get('eid', EID)}")
        await page.wait_for_url(f"{self.base}/settings")
        return context, page


async def _serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, int(runner.addresses[0][1])


def _fake_sfmc(base: str) -> web.Application:
    async def sso(request: web.Request) -> web.Response:
        mid = request.query["mid"]
        token = request.query.get("token") or login_token(
            mid=mid, eid=request.query["eid"], email=f"admin-{mid}@example.com"
        )
        return web.Response(text=_sso_form(f"{base}/login", token), content_type="text/html")

    sfmc = web.Application()
    sfmc.router.add_get("/sso", sso)
    return sfmc


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    ARTIFACTS.mkdir(exist_ok=True)
    async with running_fake_rokt(client_id=CLIENT_ID, client_secret=SECRET) as (_rokt, url):
        app_runner, port = await _serve(
            create_app(test_settings(tmp_path, rokt_api_url=url, run_delivery=False))
        )
        base = f"http://localhost:{port}"
        sfmc_runner, sfmc_port = await _serve(_fake_sfmc(base))
        try:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
                )
                try:
                    yield Stack(base, f"http://127.0.0.1:{sfmc_port}", browser)
                finally:
                    await browser.close()
        finally:
            await sfmc_runner.cleanup()
            await app_runner.cleanup()


async def _shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(ARTIFACTS / f"settings-{name}.png"), full_page=True)


async def test_admin_saves_tests_and_is_isolated(stack: Stack) -> None:
    context_a, page = await stack.signed_in_page(MID_A)
    await expect(page.get_by_role("heading", name="Rokt Calendar app settings")).to_be_visible()
    await expect(page.locator("#context")).to_contain_text(f"Business unit {MID_A}")
    await expect(page.get_by_text("Not configured yet")).to_be_visible()
    cookies = await context_a.cookies()
    assert [(c["secure"], c["httpOnly"], c["sameSite"]) for c in cookies] == [(True, True, "None")]
    await _shot(page, "01-signed-in")

    # Validation: errors sit next to their fields, nothing is saved.
    await page.get_by_label("OAuth client ID").fill("has space")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#account_code-help")).to_contain_text("Enter the Rokt account code")
    await expect(page.locator("#client_id-help")).to_contain_text("no spaces")
    await expect(page.locator("#client_secret-help")).to_contain_text("Enter the OAuth client")
    await _shot(page, "02-validation")

    await page.get_by_label("Rokt account code").fill("acme-au")
    await page.get_by_label("Rokt account ID").fill("1234")
    await page.get_by_label("OAuth client ID").fill(CLIENT_ID)
    await page.get_by_label("OAuth client secret").fill(SECRET)
    # SLDS draws its own box over the native input, so click the label as a user does.
    await page.locator("label[for=enterprise_default]").click()
    await expect(page.get_by_label("Enterprise-wide default")).to_be_checked()
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#notice")).to_have_text("Settings saved.")
    await expect(page.locator("#client_secret-help")).to_contain_text("A client secret is stored")
    assert await page.get_by_label("OAuth client secret").input_value() == ""
    assert await page.get_by_label("Rokt account code").input_value() == "acme-au"
    assert SECRET not in await page.content()
    await expect(page.get_by_role("table", name="Change history")).to_contain_text(
        f"admin-{MID_A}@example.com"
    )
    await _shot(page, "03-saved")

    # Test connection with the stored credentials, then with a just-typed wrong secret.
    await page.get_by_role("button", name="Test connection").click()
    await expect(page.locator("#connection-result")).to_contain_text("Connection successful")
    await expect(page.locator("#connection-result")).to_contain_text("the stored client secret")
    await _shot(page, "04-test-success")
    await page.get_by_label("OAuth client secret").fill("not-the-secret")
    await page.get_by_role("button", name="Test connection").click()
    await expect(page.locator("#connection-result")).to_contain_text("Invalid credentials")
    assert "not-the-secret" not in await page.content()
    await _shot(page, "05-test-invalid")

    # Another business unit of the same enterprise sees nothing of MID_A's settings.
    context_b, page_b = await stack.signed_in_page(MID_B)
    await expect(page_b.locator("#context")).to_contain_text(f"Business unit {MID_B}")
    await expect(page_b.get_by_text("use your enterprise's default")).to_be_visible()
    assert await page_b.get_by_label("Rokt account code").input_value() == ""
    assert await page_b.get_by_label("OAuth client ID").input_value() == ""
    content_b = await page_b.content()
    assert "acme-au" not in content_b and CLIENT_ID not in content_b and SECRET not in content_b
    assert f"admin-{MID_A}@example.com" not in content_b
    await _shot(page_b, "06-other-business-unit")
    await context_b.close()

    # Delete, with confirmation; Cancel first changes nothing.
    await page.goto(f"{stack.base}/settings")
    await page.get_by_role("link", name="Delete settings…").click()
    await expect(page.get_by_role("heading", name="Delete Rokt Calendar settings?")).to_be_visible()
    await _shot(page, "07-delete-confirm")
    await page.get_by_role("link", name="Cancel").click()
    assert await page.get_by_label("Rokt account code").input_value() == "acme-au"
    await page.get_by_role("link", name="Delete settings…").click()
    await page.get_by_role("button", name="Delete settings").click()
    await expect(page.locator("#notice")).to_have_text("Settings deleted.")
    await expect(page.get_by_role("table", name="Change history")).to_contain_text("Deleted")
    await _shot(page, "08-deleted")

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_text("You have signed out.")).to_be_visible()
    await page.goto(f"{stack.base}/settings")
    await expect(page.get_by_text("You are not signed in")).to_be_visible()
    await context_a.close()


async def test_forged_login_shows_what_to_do_and_sets_no_cookie(stack: Stack) -> None:
    context = await stack.browser.new_context()
    page = await context.new_page()
    forged = login_token("not-the-package-secret-0123456789", mid=MID_A)
    await page.goto(f"{stack.sfmc}/sso?mid={MID_A}&eid={EID}&token={forged}")
    await page.wait_for_url(f"{stack.base}/login")
    await expect(page.get_by_text("could not be verified")).to_be_visible()
    await expect(page.get_by_text("AppExchange › Rokt Calendar")).to_be_visible()
    assert await context.cookies() == []
    await _shot(page, "09-forged-login")
    await context.close()


async def test_the_page_works_framed_inside_marketing_cloud(stack: Stack) -> None:
    """SFMC posts the SSO form into an iframe on its own https page. Framing must be
    allowed (CSP frame-ancestors) and the cookie must work as a third-party cookie: this
    Chromium blocks unpartitioned ones there, so the session cookie is `Partitioned`."""
    context = await stack.browser.new_context(viewport={"width": 1100, "height": 900})
    top = (
        "<!doctype html><title>Marketing Cloud</title><h1>Marketing Cloud</h1>"
        '<iframe name="app" style="width:1000px;height:760px"></iframe>'
        + _sso_form(f"{stack.base}/login", login_token(mid=MID_A), target="app")
    )

    async def serve_top(route: object) -> None:
        await route.fulfill(body=top, content_type="text/html")  # type: ignore[attr-defined]

    # The service runs on localhost here; in production it is public and needs no permission.
    await context.grant_permissions(["local-network-access"], origin=SFMC_ORIGIN)
    await context.route(f"{SFMC_ORIGIN}/**", serve_top)
    page = await context.new_page()
    await page.goto(f"{SFMC_ORIGIN}/cloud/")
    frame = page.frame_locator("iframe[name=app]")
    await expect(frame.locator("#context")).to_contain_text(f"Business unit {MID_A}")
    await frame.get_by_label("Rokt account code").fill("acme-au")
    await frame.get_by_label("OAuth client ID").fill(CLIENT_ID)
    await frame.get_by_label("OAuth client secret").fill(SECRET)
    await frame.get_by_role("button", name="Save").click()
    await expect(frame.locator("#notice")).to_have_text("Settings saved.")
    await _shot(page, "10-framed-in-marketing-cloud")
    await context.close()
