"""GET/POST /settings, test connection, delete: always for the session's business unit.

The MID comes only from the session, never from the form, so a session for one business
unit can neither read nor change another's settings. The client secret never leaves the
server: not in the HTML, not even masked.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web

from activity.admin import sessions
from activity.admin.forms import checked_post
from activity.admin.marketing_cloud_page import card_context
from activity.admin.sessions import AdminSession
from activity.admin.settings_form import (
    credentials_to_test,
    form_values,
    parse_settings,
    typed_values,
)
from activity.admin.settings_service import Actor
from activity.admin.sso import not_signed_in, render_page
from activity.appkeys import CONNECTIONS, HTTP, SETTINGS, SETTINGS_SERVICE
from activity.config import ConfigError
from activity.rokt.connection_check import ConnectionResult, check_connection
from activity.storage.models import (
    CLIENT_CREDENTIALS_GRANT,
    AuditEntry,
    SfmcConnection,
    StoredSettings,
)

log = logging.getLogger("activity.settings")

UNDECRYPTABLE = ConnectionResult(
    "undecryptable",
    "Stored secret unreadable",
    "The stored client secret cannot be decrypted with the service's current encryption "
    "keys. Type the client secret again and save.",
)


ACTION_NAMES = {"save": "Saved", "delete": "Deleted", "install_data_extension": "Installed"}


def _may_set_default(admin: AdminSession, stored: StoredSettings | None) -> bool:
    """Only a user signed in from an enterprise may make these settings its default."""
    eid = admin.identity.enterprise_id
    return bool(eid) and (stored is None or stored.enterprise_id in ("", eid))


def _enterprise_fields(
    admin: AdminSession, stored: StoredSettings | None, wanted: bool
) -> tuple[str, bool]:
    """Enterprise and default flag to store; unchanged when this user may not set them."""
    if _may_set_default(admin, stored):
        return admin.identity.enterprise_id, wanted
    if stored is not None:
        return stored.enterprise_id, stored.is_enterprise_default
    return "", False


def _audit_rows(entries: list[AuditEntry]) -> list[dict[str, str]]:
    return [
        {
            "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(e.at)),
            "who": e.user_email or e.user_id,
            "user_id": e.user_id,
            "action": {
                "save": "Saved",
                "delete": "Deleted",
                "install_data_extension": "Installed",
            }.get(e.action, e.action),
            "detail": e.detail,
        }
        for e in entries
    ]


def _connection_view(connection: SfmcConnection | None) -> dict[str, Any] | None:
    """What the settings page shows of the Marketing Cloud connection (never the token)."""
    if connection is None:
        return None
    return {
        "who": connection.user_email or connection.user_id or connection.client_id,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(connection.connected_at)),
        "needs_signin": connection.needs_signin,
        "server_to_server": connection.grant_type == CLIENT_CREDENTIALS_GRANT,
        "tssd": connection.tssd,
    }


async def _page(
    request: web.Request,
    admin: AdminSession,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    result: ConnectionResult | None = None,
    status: int = 200,
) -> web.Response:
    service = request.app[SETTINGS_SERVICE]
    me = admin.identity
    stored = await service.get(me.mid)
    uses_default = (
        stored is None
        and bool(me.enterprise_id)
        and (await service.is_configured(me.mid, me.enterprise_id))
    )
    if values is None:
        values = form_values(stored)
        values["enterprise_default"] = "on" if stored and stored.is_enterprise_default else ""
    context: dict[str, Any] = {
        "title": "App settings",
        "identity": me,
        "csrf": admin.csrf_token,
        "stored": stored,
        "uses_default": uses_default,
        "may_set_default": _may_set_default(admin, stored),
        "values": values,
        "errors": errors or {},
        "result": result,
        "notice": await sessions.pop_flash(request),
        "audit": _audit_rows(await service.audit_log(me.mid)),
        "connection": _connection_view(await request.app[CONNECTIONS].get(me.mid)),
        "sso_enabled": request.app[SETTINGS].sso_enabled,
    }
    context.update(await card_context(request, me.mid))
    return render_page(request, "settings.html", context, status=status)


def _actor(admin: AdminSession) -> Actor:
    return Actor(user_id=admin.identity.user_id, email=admin.identity.email)


async def show(request: web.Request) -> web.StreamResponse:
    admin = await sessions.current(request)
    if admin is None:
        return not_signed_in(request)
    return await _page(request, admin)


async def save(request: web.Request) -> web.StreamResponse:
    checked = await checked_post(request)
    if isinstance(checked, web.Response):
        return checked
    admin, form = checked
    service = request.app[SETTINGS_SERVICE]
    mid = admin.identity.mid
    stored = await service.get(mid)
    may_set_default = _may_set_default(admin, stored)
    parsed = parse_settings(
        form, has_stored_secret=stored is not None, may_set_default=may_set_default
    )
    if parsed.parsed is None:
        return await _page(request, admin, values=parsed.values, errors=parsed.errors, status=400)
    entry = parsed.parsed
    enterprise_id, is_default = _enterprise_fields(admin, stored, entry.enterprise_default)
    await service.save(
        mid=mid,
        account_code=entry.account_code,
        account_id=entry.account_id,
        client_id=entry.client_id,
        client_secret=entry.client_secret,
        enterprise_id=enterprise_id,
        is_enterprise_default=is_default,
        calendar_ids=entry.calendar_ids,
        actor=_actor(admin),
    )
    log.info("settings saved", extra={"mid": mid})
    await sessions.flash(request, "Settings saved.")
    raise web.HTTPSeeOther("/settings")


async def test_connection(request: web.Request) -> web.StreamResponse:
    checked = await checked_post(request)
    if isinstance(checked, web.Response):
        return checked
    admin, form = checked
    service = request.app[SETTINGS_SERVICE]
    mid = admin.identity.mid
    stored = await service.get(mid)
    values = typed_values(form)
    try:
        account = await service.account_for(mid) if stored else None
    except ConfigError:
        return await _page(request, admin, values=values, result=UNDECRYPTABLE)
    credentials, errors = credentials_to_test(
        form, stored, account.client_secret if account else None
    )
    if credentials is None:
        return await _page(request, admin, values=values, errors=errors, status=400)
    settings = request.app[SETTINGS]
    result = await check_connection(request.app[HTTP], settings.rokt_api_url, credentials, mid=mid)
    return await _page(request, admin, values=values, result=result)


async def confirm_delete(request: web.Request) -> web.StreamResponse:
    admin = await sessions.current(request)
    if admin is None:
        return not_signed_in(request)
    stored = await request.app[SETTINGS_SERVICE].get(admin.identity.mid)
    if stored is None:
        await sessions.flash(request, "There are no settings to delete.")
        raise web.HTTPSeeOther("/settings")
    context = {
        "title": "Delete settings",
        "identity": admin.identity,
        "stored": stored,
        "csrf": admin.csrf_token,
    }
    return render_page(request, "delete_confirm.html", context)


async def delete(request: web.Request) -> web.StreamResponse:
    checked = await checked_post(request)
    if isinstance(checked, web.Response):
        return checked
    admin, form = checked
    if form.get("confirm") != "delete":
        raise web.HTTPSeeOther("/settings/delete")
    mid = admin.identity.mid
    deleted = await request.app[SETTINGS_SERVICE].delete(mid, _actor(admin))
    log.info("settings deleted", extra={"mid": mid})
    await sessions.flash(request, "Settings deleted." if deleted else "There were no settings.")
    raise web.HTTPSeeOther("/settings")


async def disconnect_sfmc(request: web.Request) -> web.StreamResponse:
    """POST /settings/sfmc/disconnect: forget the business unit's Marketing Cloud connection
    (its stored refresh token goes with it). Sessions stay: signing in again reconnects."""
    checked = await checked_post(request)
    if isinstance(checked, web.Response):
        return checked
    admin, _ = checked
    mid = admin.identity.mid
    removed = await request.app[CONNECTIONS].disconnect(mid)
    log.info("sfmc disconnected", extra={"mid": mid})
    await sessions.flash(
        request,
        "Disconnected from Marketing Cloud." if removed else "There was no connection.",
    )
    raise web.HTTPSeeOther("/settings")
