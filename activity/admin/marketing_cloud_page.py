"""The settings page's Marketing Cloud card: the Rokt webhook URL (copy, rotate), installing
the Calendar Subscription data extension, and whether synced work waits for a sign-in."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from activity.admin import sessions
from activity.admin.forms import checked_post
from activity.appkeys import CONNECTIONS, HTTP, SFMC_TOKENS, STORE, WEBHOOK_URLS
from activity.config import ConfigError
from activity.errors import SfmcError
from activity.sfmc import data_extension, installer

log = logging.getLogger("activity.settings")


async def card_context(request: web.Request, mid: str) -> dict[str, Any]:
    """What the card shows for the business unit `mid`."""
    store = request.app[STORE]
    try:
        webhook_url = await request.app[WEBHOOK_URLS].url_for(mid)
    except ConfigError:
        # Stored under a key ACTIVITY_ENCRYPTION_KEY no longer holds: the URL still works (it
        # is found by its hash) but cannot be shown; a new one can.
        log.warning("webhook url unreadable", extra={"mid": mid, "reason": "undecryptable"})
        webhook_url = ""
    return {
        "webhook_url": webhook_url,
        "inbox_counts": await store.inbox.counts(mid),
        "sfmc_connection": await request.app[CONNECTIONS].get(mid),
        "de_installed": await installer.is_installed(store, mid),
        "de_name": data_extension.NAME,
        "de_key": data_extension.CUSTOMER_KEY,
        "de_next_step": installer.NEXT_STEP,
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


async def install_data_extensions(request: web.Request) -> web.StreamResponse:
    checked = await checked_post(request)
    if isinstance(checked, web.Response):
        return checked
    admin, _form = checked
    me = admin.identity
    try:
        done = await installer.install_and_record(
            request.app[HTTP],
            request.app[SFMC_TOKENS],
            request.app[STORE],
            me.mid,
            user_id=me.user_id,
            user_email=me.email,
        )
    except SfmcError as exc:
        log.warning("data extension install failed", extra={"mid": me.mid, "reason": exc.reason})
        await sessions.flash(request, f"The data extension was not installed: {exc.message}")
        raise web.HTTPSeeOther("/settings") from None
    what = "installed" if done.created else "was already installed; nothing changed"
    await sessions.flash(request, f"The {data_extension.NAME} data extension {what}.")
    raise web.HTTPSeeOther("/settings")
