"""Legacy Marketing Cloud SSO: POST /login (form field `jwt`) starts a session; POST /logout
ends any session on the server. Enhanced packages sign in through sso_oauth.py."""

from __future__ import annotations

import logging
import time
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from activity.admin import sessions
from activity.appkeys import SETTINGS, STORE
from activity.errors import AuthError
from activity.journey import jwt_auth
from activity.ops.bodies import read_form
from activity.storage.models import LEGACY_SOURCE

log = logging.getLogger("activity.sso")
MAX_JTI = 200

UNVERIFIED = (
    "Marketing Cloud's sign-in could not be verified. If you opened the app from Marketing "
    "Cloud, ask your operator to check that ACTIVITY_JWT_SECRET is the installed package's "
    "JWT Signing Secret."
)
WHY = {
    "missing_token": "No sign-in from Marketing Cloud arrived with this request.",
    "expired": "The sign-in from Marketing Cloud has expired.",
    "missing_exp": "The sign-in carried no expiry time, so it is not accepted.",
    "not_yet_valid": "The sign-in is not valid yet; check this server's clock.",
    "exp_too_far": "The sign-in claims to stay valid for more than an hour, so it is not accepted.",
    "missing_mid": "The sign-in did not say which business unit you are working in.",
    "missing_user": "The sign-in did not say who you are.",
    "missing_jti": "The sign-in carried no token id, so it cannot be checked for reuse.",
    "replayed": "This sign-in was already used. Open the app from Marketing Cloud again.",
    "no_secret": "This service has no JWT signing secret; ask your operator to set "
    "ACTIVITY_JWT_SECRET.",
}


DEFAULT_NEXT = "/settings"
MAX_NEXT = 512


def safe_next(value: str | None) -> str:
    """Only a path on this site: no scheme, no host, no `//` or `/\\` (which browsers treat
    as another host), no control characters."""
    if not value or len(value) > MAX_NEXT or not value.startswith("/"):
        return DEFAULT_NEXT
    if value.startswith(("//", "/\\")) or not value.isprintable() or "\\" in value:
        return DEFAULT_NEXT
    return value


def render_page(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def session_lifetime(seconds: int) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _signed_out_page(request: web.Request, title: str, why: str, *, status: int) -> web.Response:
    lifetime = session_lifetime(request.app[SETTINGS].session_max_age_seconds)
    context = {
        "title": title,
        "why": why,
        "lifetime": lifetime,
        "signed_out": status == 200,
        "sso_enabled": request.app[SETTINGS].sso_enabled,
    }
    return render_page(request, "signed_out.html", context, status=status)


def not_signed_in(request: web.Request, *, why: str = "") -> web.Response:
    """401 with what to do; sets no cookie."""
    why = why or "You are not signed in, or your session has ended."
    return _signed_out_page(request, "Sign in from Marketing Cloud", why, status=401)


async def login_help(request: web.Request) -> web.StreamResponse:
    """GET /login: someone opened the Login URL directly; Marketing Cloud POSTs to it."""
    why = "This address is where Marketing Cloud signs you in; it cannot be opened directly."
    return not_signed_in(request, why=why)


async def login(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    token = form.get("jwt")
    try:
        if not isinstance(token, str):
            raise AuthError("no jwt form field", reason="missing_token")
        claims = jwt_auth.verify(
            token.encode("utf-8"), request.app[SETTINGS].jwt_secret, require_exp=True
        )
        identity = sessions.identity_from_claims(claims)
        await _use_once(request, claims)
    except AuthError as err:
        log.warning("sso login rejected", extra={"reason": err.reason})
        return not_signed_in(request, why=WHY.get(err.reason, UNVERIFIED))
    await sessions.start(request, identity, source=LEGACY_SOURCE)
    log.info("sso login", extra={"mid": identity.mid})
    raise web.HTTPFound("/settings")


async def _use_once(request: web.Request, claims: dict[str, Any]) -> None:
    """A posted token signs in once: its `jti` is kept until its `exp`, and a replay (a
    token copied from a browser's history or a proxy log) is refused."""
    jti, exp = claims.get("jti"), claims.get("exp")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI or not jti.isprintable():
        raise AuthError("the token has no usable jti", reason="missing_jti")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise AuthError("JWT exp is not a number", reason="malformed_token")
    if not await request.app[STORE].use_jti(jti, float(exp), time.time()):
        raise AuthError("this sign-in was used before", reason="replayed")


async def logout(request: web.Request) -> web.StreamResponse:
    admin = await sessions.current(request)
    form = await read_form(request)
    if admin is not None and not admin.csrf_ok(form.get(sessions.CSRF_FIELD)):
        return render_page(request, "expired_form.html", {"title": "Form expired"}, status=403)
    await sessions.end(request)
    return _signed_out_page(request, "Signed out", "You have signed out.", status=200)
