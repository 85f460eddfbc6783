"""A signed-in admin's POSTed form, checked against the session's CSRF token. Every page that
takes a form (settings, Marketing Cloud) starts here."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from activity.admin import sessions
from activity.admin.sessions import AdminSession
from activity.admin.sso import not_signed_in, render_page
from activity.ops.bodies import read_form

log = logging.getLogger("activity.settings")


async def checked_post(
    request: web.Request,
) -> tuple[AdminSession, Mapping[str, Any]] | web.Response:
    """The admin and the form, or the page to answer instead (sign in, or the form expired)."""
    admin = await sessions.current(request)
    if admin is None:
        return not_signed_in(request)
    form = await read_form(request)
    if not admin.csrf_ok(form.get(sessions.CSRF_FIELD)):
        log.warning("settings form rejected", extra={"reason": "csrf", "mid": admin.identity.mid})
        return render_page(request, "expired_form.html", {"title": "Form expired"}, status=403)
    return admin, form
