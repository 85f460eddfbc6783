"""Admin sessions, kept on the server: the cookie carries only a random id.

A session row (see Store.create_session) is found by the SHA-256 of the cookie's 256-bit
random id, so a copy of the database opens nothing. Logout deletes the row: a copied cookie
opens nothing afterwards. Lifetime is absolute: a session ends `session_max_age_seconds`
(8 hours) after sign-in, however busy it was; the admin signs in again from Marketing Cloud.

The cookie is `Secure; HttpOnly; SameSite=None; Partitioned` because Marketing Cloud frames
the pages: inside its iframe this is a third-party cookie, and browsers that block those keep
a partitioned (CHIPS) one. Python 3.11's http.cookies cannot write `Partitioned`, so the
header is written here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from aiohttp import hdrs, web

from activity.appkeys import SETTINGS, STORE
from activity.claims import claim, section
from activity.config import Settings
from activity.errors import AuthError
from activity.storage.models import LEGACY_SOURCE, SessionRecord

COOKIE_NAME = "rokt_activity_session"
CSRF_FIELD = "csrf_token"
COOKIE_VALUE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)

_PENDING_COOKIES = web.RequestKey("admin_pending_cookies", list[str])
_CURRENT = web.RequestKey("admin_current_session", object)


@dataclass(frozen=True)
class AdminIdentity:
    """Who signed in through Marketing Cloud, and for which business unit."""

    mid: str
    enterprise_id: str
    user_id: str
    email: str


@dataclass(frozen=True)
class AdminSession:
    identity: AdminIdentity
    csrf_token: str
    id_hash: str = ""

    def csrf_ok(self, submitted: object) -> bool:
        if not isinstance(submitted, str) or not submitted:
            return False
        return hmac.compare_digest(submitted.encode(), self.csrf_token.encode())


def identity_from_claims(claims: Mapping[str, Any]) -> AdminIdentity:
    """Read MID, enterprise, user id and email from legacy SSO claims; raise AuthError."""
    request = section(claims, "request")
    organization, user = section(request, "organization"), section(request, "user")
    identity = AdminIdentity(
        mid=claim(organization.get("id")),
        enterprise_id=claim(organization.get("enterpriseId")),
        user_id=claim(user.get("id")),
        email=claim(user.get("email")),
    )
    if not identity.mid:
        raise AuthError("the token names no business unit", reason="missing_mid")
    if not identity.user_id:
        raise AuthError("the token names no user", reason="missing_user")
    return identity


def hash_id(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def cookie_header(name: str, value: str, *, max_age: int | None, path: str = "/") -> str:
    # Our values are URL-safe base64: valid cookie octets, no quoting needed.
    parts = [f"{name}={value}", f"Path={path}"]
    if not value:
        parts += ["Max-Age=0", f"Expires={formatdate(0, usegmt=True)}"]
    elif max_age is not None:
        parts += [f"Max-Age={max_age}", f"Expires={formatdate(time.time() + max_age, usegmt=True)}"]
    return "; ".join([*parts, "Secure", "HttpOnly", "SameSite=None", "Partitioned"])


def set_cookie_later(request: web.Request, header: str) -> None:
    """Send this Set-Cookie with whatever response the handler ends with (raised redirects
    included)."""
    request.setdefault(_PENDING_COOKIES, []).append(header)


async def _send_pending_cookies(request: web.Request, response: web.StreamResponse) -> None:
    for header in request.get(_PENDING_COOKIES, ()):
        response.headers.add(hdrs.SET_COOKIE, header)


def setup_sessions(app: web.Application, settings: Settings) -> None:
    app.on_response_prepare.append(_send_pending_cookies)


def is_admin_path(path: str) -> bool:
    return path in ("/login", "/logout", "/settings") or path.startswith(
        ("/settings/", "/sso/", "/running/", "/api/rokt/")
    )


async def start(
    request: web.Request, identity: AdminIdentity, *, source: str = LEGACY_SOURCE
) -> AdminSession:
    """A fresh session (never a reused one) for this identity; the cookie goes out with the
    response. Any session this browser had is ended first."""
    old = _cookie_id(request)
    if old:
        await request.app[STORE].delete_session(hash_id(old))
    settings = request.app[SETTINGS]
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = time.time()
    record = SessionRecord(
        id_hash=hash_id(session_id),
        mid=identity.mid,
        enterprise_id=identity.enterprise_id,
        user_id=identity.user_id,
        email=identity.email,
        csrf_token=csrf,
        source=source,
        created_at=now,
        expires_at=now + settings.session_max_age_seconds,
    )
    await request.app[STORE].create_session(record)
    max_age = settings.session_max_age_seconds
    set_cookie_later(request, cookie_header(COOKIE_NAME, session_id, max_age=max_age))
    session = AdminSession(identity, csrf, record.id_hash)
    request[_CURRENT] = session
    return session


def _cookie_id(request: web.Request) -> str:
    try:
        value = request.cookies.get(COOKIE_NAME, "")
    except (UnicodeDecodeError, ValueError):
        return ""
    return value if COOKIE_VALUE.match(value) else ""


async def current(request: web.Request) -> AdminSession | None:
    """The signed-in session of this request, or None (no cookie, unknown, ended, expired)."""
    if _CURRENT in request:
        found = request[_CURRENT]
        return found if isinstance(found, AdminSession) else None
    session: AdminSession | None = None
    cookie = _cookie_id(request)
    if cookie:
        record = await request.app[STORE].get_session(hash_id(cookie), time.time())
        if record is not None:
            identity = AdminIdentity(record.mid, record.enterprise_id, record.user_id, record.email)
            session = AdminSession(identity, record.csrf_token, record.id_hash)
    request[_CURRENT] = session
    return session


async def end(request: web.Request) -> None:
    """Delete this browser's session on the server and clear its cookie."""
    cookie = _cookie_id(request)
    if cookie:
        await request.app[STORE].delete_session(hash_id(cookie))
        set_cookie_later(request, cookie_header(COOKIE_NAME, "", max_age=0))
    request[_CURRENT] = None


async def flash(request: web.Request, message: str) -> None:
    """A one-time notice shown on the next page (after a redirect)."""
    session = await current(request)
    if session is not None:
        await request.app[STORE].set_session_flash(session.id_hash, message)


async def pop_flash(request: web.Request) -> str:
    session = await current(request)
    if session is None:
        return ""
    return await request.app[STORE].pop_session_flash(session.id_hash)
