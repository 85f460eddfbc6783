"""GET /api/rokt/events: "Choose an existing event" in the config UI.

Lists the events of the business unit's Rokt calendars (settings: calendar IDs), searched
and paged here, fetched server-side with the business unit's token (see
rokt/calendar_events.py). It reads stored data, so it needs the admin session and serves only
the session's business unit. It never blocks editing: every answer the editor can act on is a
200 with `ok: false`, a `reason` and a sentence saying what is missing.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from aiohttp import web

from activity.admin import sessions
from activity.appkeys import CALENDAR_EVENTS, SETTINGS_SERVICE
from activity.config import ConfigError
from activity.errors import RoktAuthFailed, RoktError, RoktRejected

PAGE_SIZE = 8
MAX_QUERY = 100
_MID = re.compile(r"\d{1,18}")

log = logging.getLogger("activity.event_picker")


def _answer(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


def _missing(reason: str, message: str, **extra: Any) -> web.Response:
    return _answer({"ok": False, "reason": reason, "message": message, **extra})


async def events(request: web.Request) -> web.Response:
    admin = await sessions.current(request)
    if admin is None:
        return _missing(
            "not_signed_in",
            "Sign in to the Rokt Calendar app (Marketing Cloud > AppExchange > Rokt Calendar) "
            "to choose an existing event, then reopen this activity. You can still type the "
            "event ID yourself.",
        )
    mid = admin.identity.mid
    wanted = request.query.get("mid", "").strip()
    if wanted and (not _MID.fullmatch(wanted) or wanted != mid):
        return _missing(
            "other_business_unit",
            f"You are signed in to business unit {mid}, but this journey belongs to {wanted}. "
            "Sign in to that business unit to choose its events.",
        )
    service = request.app[SETTINGS_SERVICE]
    stored = await service.find(mid, admin.identity.enterprise_id)
    if stored is None:
        return _missing(
            "not_configured", f"Business unit {mid} has no Rokt settings yet: add them first."
        )
    if not stored.calendar_ids:
        return _missing(
            "no_calendar",
            "No Rokt calendar ID is set for this business unit: an admin adds it on the app's "
            "settings page (Rokt calendar IDs).",
            accountCode=stored.account_code,
        )
    calendar = request.query.get("calendar", "") or stored.calendar_ids[0]
    if calendar not in stored.calendar_ids:
        return _answer({"ok": False, "reason": "bad_request", "message": "unknown calendar"}, 400)
    query = request.query.get("q", "")[:MAX_QUERY]
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    try:
        account = await service.account_for(stored.mid)
    except ConfigError:
        account = None
    if account is None:
        return _missing(
            "not_configured", "The stored Rokt settings cannot be read; save them again."
        )
    try:
        found = await request.app[CALENDAR_EVENTS].events(account, calendar)
    except RoktError as exc:
        log.warning("calendar events unavailable", extra={"mid": mid, "reason": exc.reason})
        return _missing("rokt", _rokt_message(exc, calendar), accountCode=stored.account_code)
    words = query.casefold().split()
    matching = [e for e in found if e.matches(words)]
    pages = max(1, math.ceil(len(matching) / PAGE_SIZE))
    page = min(page, pages)
    shown = matching[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return _answer(
        {
            "ok": True,
            "accountCode": stored.account_code,
            "calendars": list(stored.calendar_ids),
            "calendar": calendar,
            "query": query,
            "page": page,
            "pages": pages,
            "total": len(matching),
            "events": [e.as_json() for e in shown],
        }
    )


async def business_units(request: web.Request) -> web.Response:
    """For tokens without a MID: the business units with Rokt settings in the signed-in
    admin's enterprise (and the admin's own), to pick from. Without a session: none."""
    admin = await sessions.current(request)
    if admin is None:
        return _answer({"units": []})
    me = admin.identity
    units = [
        {"mid": s.mid, "accountCode": s.account_code}
        for s in await request.app[SETTINGS_SERVICE].all_settings()
        if s.mid == me.mid or (me.enterprise_id and s.enterprise_id == me.enterprise_id)
    ]
    return _answer({"units": units})


def _rokt_message(exc: RoktError, calendar: str) -> str:
    if isinstance(exc, RoktAuthFailed):
        return "Rokt refused the stored client ID and secret: an admin fixes them in the settings."
    if isinstance(exc, RoktRejected) and exc.status == 404:
        return f"Rokt does not know calendar {calendar}: check the calendar ID in the settings."
    if isinstance(exc, RoktRejected):
        return f"Rokt refused to list calendar {calendar} ({exc.message})."
    return "Rokt cannot be reached right now; try again in a moment."
