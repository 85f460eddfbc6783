"""The settings page's Marketing Cloud card: the Rokt webhook URL (copy, rotate)."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from activity.admin import sessions
from activity.admin.settings_page import checked_post
from activity.appkeys import STORE, WEBHOOK_URLS

log = logging.getLogger("activity.settings")


async def card_context(request: web.Request, mid: str) -> dict[str, Any]:
    """What the card shows for the business unit `mid`."""
    inbox = request.app[STORE].inbox
    return {
        "webhook_url": await request.app[WEBHOOK_URLS].url_for(mid),
        "inbox_counts": await inbox.counts(mid),
    }


async def rotate_webhook_url(request: web.Request) -> web.StreamResponse:
    checked = await checked_post(request)
    if isinstance(checked, web.Response):
        return checked
    admin, _form = checked
    mid = admin.identity.mid
    await request.app[WEBHOOK_URLS].url_for(mid, rotate=True)
    log.info("webhook url rotated", extra={"mid": mid})
    await sessions.flash(
        request,
        "A new webhook URL was made; the old one no longer works. Paste the new one into "
        "Rokt Calendar's webhook settings.",
    )
    raise web.HTTPSeeOther("/settings")
