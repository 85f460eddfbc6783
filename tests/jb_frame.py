"""Frame pages the way Journey Builder does: from a Marketing Cloud host.

The service lets only `https://*.exacttarget.com` and `https://*.marketingcloudapps.com` frame
it (CSP frame-ancestors, not even 'self'), so a harness served by the app itself could not
frame it. Instead the browser is routed: `JB_ORIGIN` answers the JB harness page at
/__jb_harness and passes every other request through to the app under test, over real HTTP.
The production policy is what the browser enforces; nothing in the app knows about tests.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import Page, Route

JB_ORIGIN = "https://jb.s50.exacttarget.com"
HARNESS = Path(__file__).parent / "jb_harness.html"


async def harness_url(page: Page, app_base: str) -> str:
    """Route JB_ORIGIN for `page`'s context; returns the harness URL to open."""
    base = app_base.rstrip("/")

    async def handle(route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.path == "/__jb_harness":
            await route.fulfill(
                path=HARNESS, content_type="text/html", headers={"Cache-Control": "no-store"}
            )
            return
        target = base + url.path + (f"?{url.query}" if url.query else "")
        await route.fulfill(response=await route.fetch(url=target, max_redirects=0))

    await page.context.route(f"{JB_ORIGIN}/**", handle)
    return f"{JB_ORIGIN}/__jb_harness"
