"""Admin sessions for the settings page: an encrypted cookie with a bounded lifetime.

The cookie is Fernet-encrypted (aiohttp-session) under a key derived with HKDF from the
first encryption key, or from the JWT signing secret when none is configured, so every
instance of the service reads the same cookies. It is `Secure; HttpOnly; SameSite=None`
because Marketing Cloud frames the page. Lifetime is bounded twice: aiohttp-session drops
data older than `max_age` since login, and Fernet refuses a cookie written longer ago.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import aiohttp_session
from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from activity.config import Settings
from activity.errors import AuthError

COOKIE_NAME = "rokt_activity_session"
CSRF_FIELD = "csrf_token"
HKDF_SALT = b"rokt-activity"
HKDF_INFO = b"rokt-activity admin session cookie v1"
MAX_CLAIM_LENGTH = 254


@dataclass(frozen=True)
class AdminIdentity:
    """Who signed in through Marketing Cloud SSO, and for which business unit."""

    mid: str
    enterprise_id: str
    user_id: str
    email: str


@dataclass(frozen=True)
class AdminSession:
    identity: AdminIdentity
    csrf_token: str

    def csrf_ok(self, submitted: object) -> bool:
        if not isinstance(submitted, str) or not submitted:
            return False
        return hmac.compare_digest(submitted.encode(), self.csrf_token.encode())


def _claim(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    text = str(value).strip()
    return text if len(text) <= MAX_CLAIM_LENGTH and text.isprintable() else ""


def identity_from_claims(claims: Mapping[str, Any]) -> AdminIdentity:
    """Read MID, enterprise, user id and email from legacy SSO claims; raise AuthError."""
    request = claims.get("request")
    request = request if isinstance(request, dict) else {}
    organization = request.get("organization")
    organization = organization if isinstance(organization, dict) else {}
    user = request.get("user")
    user = user if isinstance(user, dict) else {}
    identity = AdminIdentity(
        mid=_claim(organization.get("id")),
        enterprise_id=_claim(organization.get("enterpriseId")),
        user_id=_claim(user.get("id")),
        email=_claim(user.get("email")),
    )
    if not identity.mid:
        raise AuthError("the token names no business unit", reason="missing_mid")
    if not identity.user_id:
        raise AuthError("the token names no user", reason="missing_user")
    return identity


def session_key(settings: Settings) -> bytes:
    """32 bytes for the cookie's Fernet key, the same on every instance."""
    material = settings.encryption_keys[0] if settings.encryption_keys else settings.jwt_secret
    if not material:
        # Nobody can sign in without a JWT secret; a throwaway key keeps the app startable.
        return os.urandom(32)
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=HKDF_INFO)
    return hkdf.derive(material.encode("utf-8"))


class AdminCookieStorage(EncryptedCookieStorage):
    """Writes the Set-Cookie header itself, adding `Partitioned` (CHIPS): inside Marketing
    Cloud's iframe this is a third-party cookie, and browsers that block those still keep a
    partitioned one. Python 3.11's http.cookies cannot write that attribute."""

    def save_cookie(
        self, response: web.StreamResponse, cookie_data: str, *, max_age: int | None = None
    ) -> None:
        response.headers.add(hdrs.SET_COOKIE, self.header(cookie_data, max_age=max_age))

    def header(self, value: str, *, max_age: int | None) -> str:
        # A Fernet token is URL-safe base64: valid cookie octets, no quoting needed.
        parts = [f"{self.cookie_name}={value}", "Path=/"]
        if not value:
            parts += ["Max-Age=0", f"Expires={formatdate(0, usegmt=True)}"]
        elif max_age is not None:
            parts += [
                f"Max-Age={max_age}",
                f"Expires={formatdate(time.time() + max_age, usegmt=True)}",
            ]
        return "; ".join([*parts, "Secure", "HttpOnly", "SameSite=None", "Partitioned"])


def setup_sessions(app: web.Application, settings: Settings) -> None:
    storage = AdminCookieStorage(
        session_key(settings),
        cookie_name=COOKIE_NAME,
        max_age=settings.session_max_age_seconds,
        path="/",
        secure=True,
        httponly=True,
        samesite="None",
    )
    app.middlewares.append(_admin_paths_only(aiohttp_session.session_middleware(storage)))


def is_admin_path(path: str) -> bool:
    return path in ("/login", "/logout", "/settings") or path.startswith(
        ("/settings/", "/running/", "/api/rokt/")
    )


def _admin_paths_only(inner: Middleware) -> Middleware:
    """Sessions exist only for the admin pages; Journey Builder's calls never touch them."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_admin_path(request.path):
            return await inner(request, handler)
        return await handler(request)

    return middleware


async def start(request: web.Request, identity: AdminIdentity) -> AdminSession:
    """A fresh session (never a reused one) for this identity."""
    session = await aiohttp_session.new_session(request)
    csrf = secrets.token_urlsafe(32)
    session.update(
        {
            "mid": identity.mid,
            "eid": identity.enterprise_id,
            "uid": identity.user_id,
            "email": identity.email,
            "csrf": csrf,
        }
    )
    return AdminSession(identity, csrf)


async def current(request: web.Request) -> AdminSession | None:
    session = await aiohttp_session.get_session(request)
    mid, eid, uid, email, csrf = (session.get(k) for k in ("mid", "eid", "uid", "email", "csrf"))
    if not (
        isinstance(mid, str)
        and isinstance(eid, str)
        and isinstance(uid, str)
        and isinstance(email, str)
        and isinstance(csrf, str)
        and mid
        and csrf
    ):
        return None
    return AdminSession(AdminIdentity(mid, eid, uid, email), csrf)


async def end(request: web.Request) -> None:
    session = await aiohttp_session.get_session(request)
    session.invalidate()


async def flash(request: web.Request, message: str) -> None:
    """A one-time notice shown on the next page (after a redirect)."""
    session = await aiohttp_session.get_session(request)
    session["flash"] = message


async def pop_flash(request: web.Request) -> str:
    session = await aiohttp_session.get_session(request)
    message = session.pop("flash", "") if "flash" in session else ""
    return message if isinstance(message, str) else ""
