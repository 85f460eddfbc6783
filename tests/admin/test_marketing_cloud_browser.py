"""The settings page's Marketing Cloud card in real headless Chromium: copy and rotate."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.admin.test_settings_browser import Stack, stack  # noqa: F401 - the fixture
from tests.admin_support import MID_A

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning"),
]


async def test_admin_copies_and_rotates_the_webhook_url(stack: Stack) -> None:  # noqa: F811
    context, page = await stack.signed_in_page(MID_A)
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.base)
    field = page.get_by_label("Rokt webhook URL")
    # Built from ACTIVITY_PUBLIC_URL, never from the Host header; 256 bits of base64url.
    await expect(field).to_have_value(
        re.compile(r"^https://activity\.example\.com/webhooks/rokt/[\w-]{43}$")
    )
    first = await field.input_value()
    await page.get_by_role("button", name="Copy").click()
    await expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == first
    await page.get_by_role("button", name="Make a new URL").click()
    await expect(page.locator("#notice")).to_contain_text("the old one no longer works")
    second = await page.get_by_label("Rokt webhook URL").input_value()
    assert second != first and second.startswith("https://activity.example.com/webhooks/rokt/")
    # Without a Marketing Cloud connection the install button says why it cannot work yet.
    await expect(page.locator("#sfmc-not-connected")).to_be_visible()
    await expect(page.get_by_role("button", name="Install data extensions")).to_be_disabled()
    await context.close()
