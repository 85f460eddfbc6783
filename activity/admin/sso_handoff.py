"""The popup sign-in handing its session to Journey Builder's frame.

Inside Marketing Cloud's frame the app's cookies are partitioned under Marketing Cloud's
site; the popup that signs in (Marketing Cloud's sign-in page may refuse to be framed) is top
level, so its cookies live in another partition and the frame cannot see its session.

1. The framed /sso/login gives the frame a random key `f` in a cookie (the frame's partition)
   and opens the popup with `frame=H`, H = SHA-256(f).
2. After the callback the popup lands on GET /sso/handoff?frame=H: a one-time code `c` is made
   and a short-lived session row is stored under the id derive(c, H). The page posts `c` to
   its opener (same origin only) and closes.
3. The frame calls GET /sso/handoff/finish?code=c: the server derives the id from `c` and the
   frame's own `f`, swaps that row for a fresh session, and sets the frame's cookie.

`c` alone opens nothing (it needs the frame's HttpOnly `f`), and works once.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
import time
from urllib.parse import urlencode

from aiohttp import web

from activity.admin import sessions
from activity.admin.sso import not_signed_in, render_page, safe_next
from activity.appkeys import STORE
from activity.storage.models import SSO_SOURCE, SessionRecord

log = logging.getLogger("activity.sso")

FRAME_COOKIE = "rokt_activity_sso_frame"
FRAME_COOKIE_PATH = "/sso/"
FRAME_TTL_SECONDS = 600
HANDOFF_TTL_SECONDS = 120
HANDOFF_SOURCE = "handoff"
FRAME_HASH = re.compile(r"^[0-9a-f]{64}$")
CODE = sessions.COOKIE_VALUE


def derive(code: str, frame_hash: str) -> str:
    """The handoff session's id: 43 URL-safe characters, like any session id."""
    digest = hashlib.sha256(f"{code}:{frame_hash}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def new_frame_key(request: web.Request) -> str:
    """Give this (framed) browser a frame key; returns its hash for the popup's URL."""
    key = secrets.token_urlsafe(32)
    header = sessions.cookie_header(
        FRAME_COOKIE, key, max_age=FRAME_TTL_SECONDS, path=FRAME_COOKIE_PATH
    )
    sessions.set_cookie_later(request, header)
    return sessions.hash_id(key)


def handoff_path(frame_hash: str, next_path: str) -> str:
    return "/sso/handoff?" + urlencode({"frame": frame_hash, "next": next_path})


async def handoff(request: web.Request) -> web.StreamResponse:
    """GET /sso/handoff?frame=H&next=PATH, in the popup, just signed in."""
    admin = await sessions.current(request)
    if admin is None:
        return not_signed_in(request)
    frame_hash = request.query.get("frame", "")
    next_path = safe_next(request.query.get("next"))
    if not FRAME_HASH.match(frame_hash):
        raise web.HTTPFound(next_path)
    code = secrets.token_urlsafe(32)
    now = time.time()
    me = admin.identity
    await request.app[STORE].create_session(
        SessionRecord(
            id_hash=sessions.hash_id(derive(code, frame_hash)),
            mid=me.mid,
            enterprise_id=me.enterprise_id,
            user_id=me.user_id,
            email=me.email,
            csrf_token=secrets.token_urlsafe(32),
            source=HANDOFF_SOURCE,
            created_at=now,
            expires_at=now + HANDOFF_TTL_SECONDS,
        )
    )
    context = {"title": "Signed in", "code": code, "next": next_path}
    return render_page(request, "sso_handoff.html", context)


async def finish(request: web.Request) -> web.StreamResponse:
    """GET /sso/handoff/finish?code=C&next=PATH, in the frame."""
    sessions.set_cookie_later(
        request, sessions.cookie_header(FRAME_COOKIE, "", max_age=0, path=FRAME_COOKIE_PATH)
    )
    code = request.query.get("code", "")
    try:
        key = request.cookies.get(FRAME_COOKIE, "")
    except (UnicodeDecodeError, ValueError):
        key = ""
    store = request.app[STORE]
    record = None
    if CODE.match(code) and CODE.match(key):
        id_hash = sessions.hash_id(derive(code, sessions.hash_id(key)))
        record = await store.get_session(id_hash, time.time())
        if record is not None and not await store.delete_session(id_hash):
            record = None  # another request took it first
    if record is None or record.source != HANDOFF_SOURCE:
        log.warning("sso handoff rejected", extra={"reason": "handoff"})
        why = "The sign-in window could not hand its session to this page. Sign in again here."
        return not_signed_in(request, why=why)
    # A sign-in like any other: the session this frame had before ends, a fresh one starts.
    identity = sessions.AdminIdentity(
        record.mid, record.enterprise_id, record.user_id, record.email
    )
    await sessions.start(request, identity, source=SSO_SOURCE)
    log.info("sso handoff", extra={"mid": record.mid})
    raise web.HTTPFound(safe_next(request.query.get("next")))
