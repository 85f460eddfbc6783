"""Sign in with Marketing Cloud (enhanced packages): GET /sso/login and GET /sso/callback.

The OAuth 2.0 authorization-code flow of the package's Web App integration. `state` is
single-use (deleted when the callback takes it), expires after STATE_TTL_SECONDS, and is
bound to the browser that started it: a random value in a short-lived cookie whose hash is
stored with the state. Every failure answers a page that says what happened and what to do,
and starts no session.
"""

from __future__ import annotations

import hmac
import logging
import math
import secrets
import time
from urllib.parse import urlencode

from aiohttp import web

from activity.admin import sessions, sso_handoff
from activity.admin.sso import render_page, safe_next, session_lifetime
from activity.appkeys import CONNECTIONS, HTTP, SETTINGS, SIGN_INS, STORE, SYNC_WORKER
from activity.errors import SfmcError, SfmcGrantRefused, SfmcUnavailable
from activity.sfmc import oauth
from activity.storage.models import SSO_SOURCE, SsoState

log = logging.getLogger("activity.sso")

STATE_COOKIE = "rokt_activity_sso"
STATE_COOKIE_PATH = "/sso/"
STATE_TTL_SECONDS = 600
MAX_PARAM = 2048
# Sign-in steps (login and callback) per second and process, and the burst above it: far more
# than people signing in, far less than what would keep the database from executes.
SIGN_INS_PER_SECOND = 10.0
SIGN_IN_BURST = 50

DENIED = {
    "access_denied": "You, or Marketing Cloud on your behalf, declined to let this app sign "
    "you in. Open the app from Marketing Cloud again and allow access.",
    "user_not_licensed": "Your Marketing Cloud user is not allowed to use this app. Ask a "
    "Marketing Cloud administrator to grant your user access to the installed package.",
}


def _failure(
    request: web.Request, title: str, why: str, *, status: int, retry: bool = True
) -> web.Response:
    settings = request.app[SETTINGS]
    context = {
        "title": title,
        "why": why,
        "retry": retry and settings.sso_enabled,
        "lifetime": session_lifetime(settings.session_max_age_seconds),
    }
    return render_page(request, "sso_failed.html", context, status=status)


def _too_many(request: web.Request) -> web.Response | None:
    """A page asking to wait when sign-ins come faster than anyone signs in: each one writes to
    the database, which a flood of them would keep from Journey Builder's contacts."""
    wait = request.app[SIGN_INS].take()
    if not wait:
        return None
    log.warning("sso sign-in throttled", extra={"reason": "too_many"})
    why = "Too many sign-ins are under way on this service right now. Try again in a moment."
    response = _failure(request, "Please wait", why, status=429)
    response.headers["Retry-After"] = str(math.ceil(wait))
    return response


def _param(request: web.Request, name: str) -> str:
    value = request.query.get(name, "")
    return value if len(value) <= MAX_PARAM and value.isprintable() else ""


async def login(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    if not settings.sso_enabled:
        why = (
            "Sign-in with Marketing Cloud is not set up on this service. Ask your operator to "
            "set SFMC_CLIENT_ID and SFMC_CLIENT_SECRET (see README.md)."
        )
        return _failure(request, "Sign-in not set up", why, status=503, retry=False)
    next_path = safe_next(request.query.get("next"))
    if request.headers.get("Sec-Fetch-Dest") == "iframe" and "popup" not in request.query:
        # Marketing Cloud's sign-in page may refuse to be framed: continue in a popup, which
        # hands its session back to this frame (sso_handoff.py).
        frame = sso_handoff.new_frame_key(request)
        popup = "/sso/login?" + urlencode({"popup": "1", "frame": frame, "next": next_path})
        context = {"title": "Sign in", "next": next_path, "popup": popup}
        return render_page(request, "sso_framed.html", context)
    frame = request.query.get("frame", "")
    if sso_handoff.FRAME_HASH.match(frame):
        next_path = sso_handoff.handoff_path(frame, next_path)
    if (busy := _too_many(request)) is not None:
        return busy
    state, browser = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = time.time()
    await request.app[STORE].put_sso_state(
        SsoState(
            state_hash=sessions.hash_id(state),
            browser_hash=sessions.hash_id(browser),
            next_path=next_path,
            created_at=now,
            expires_at=now + STATE_TTL_SECONDS,
        )
    )
    sessions.set_cookie_later(
        request,
        sessions.cookie_header(
            STATE_COOKIE, browser, max_age=STATE_TTL_SECONDS, path=STATE_COOKIE_PATH
        ),
    )
    base = oauth.auth_base(settings.sfmc_auth_url, settings.sfmc_subdomain)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.sfmc_client_id,
            "redirect_uri": settings.sso_redirect_uri,
            "scope": settings.sfmc_scopes,
            "state": state,
        }
    )
    response = web.HTTPFound(f"{base}/v2/authorize?{query}")
    response.headers["Cache-Control"] = "no-store"
    raise response


async def _take_state(request: web.Request) -> SsoState | web.Response:
    state = _param(request, "state")
    if not state:
        why = "The answer from Marketing Cloud carried no sign-in state. Start again."
        return _failure(request, "Sign-in incomplete", why, status=400)
    taken = await request.app[STORE].take_sso_state(sessions.hash_id(state), time.time())
    if taken is None:
        why = (
            "This sign-in link has expired or was already used. Sign-in links work once, "
            f"within {STATE_TTL_SECONDS // 60} minutes. Start again."
        )
        return _failure(request, "Sign-in expired", why, status=400)
    try:
        browser = request.cookies.get(STATE_COOKIE, "")
    except (UnicodeDecodeError, ValueError):
        browser = ""
    if not browser or not hmac.compare_digest(
        sessions.hash_id(browser).encode(), taken.browser_hash.encode()
    ):
        why = (
            "This sign-in was started in another browser or window. For your safety it "
            "cannot be finished here. Start again in this browser."
        )
        return _failure(request, "Sign-in from another browser", why, status=400)
    return taken


async def callback(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    if (busy := _too_many(request)) is not None:
        return busy  # nothing used up: the same answer may come back once the wait is over
    sessions.set_cookie_later(
        request, sessions.cookie_header(STATE_COOKIE, "", max_age=0, path=STATE_COOKIE_PATH)
    )
    taken = await _take_state(request)  # first, so an error= answer uses up its state too
    error = _param(request, "error")
    if error:
        log.warning("sso sign-in refused", extra={"reason": error[:64]})
        why = DENIED.get(error, f"Marketing Cloud did not sign you in ({error[:64]}).")
        return _failure(request, "Not signed in", why, status=401)
    if isinstance(taken, web.Response):
        log.warning("sso sign-in rejected", extra={"reason": "state"})
        return taken
    if not settings.sso_enabled:
        return _failure(request, "Sign-in not set up", "SSO is off.", status=503, retry=False)
    code = _param(request, "code")
    if not code:
        why = "The answer from Marketing Cloud carried no sign-in code."
        return _failure(request, "Sign-in incomplete", why, status=400)
    tssd = _param(request, "tssd") or settings.sfmc_subdomain
    try:
        base = oauth.auth_base(settings.sfmc_auth_url, tssd)
        http = request.app[HTTP]
        tokens = await oauth.exchange_code(
            http,
            base,
            client_id=settings.sfmc_client_id,
            client_secret=settings.sfmc_client_secret,
            code=code,
            redirect_uri=settings.sso_redirect_uri,
        )
        info = await oauth.userinfo(http, base, tokens.access_token)
    except SfmcUnavailable:
        log.warning("sso sign-in failed", extra={"reason": "sfmc_unavailable"})
        why = "Marketing Cloud could not be reached to finish the sign-in. Try again shortly."
        return _failure(request, "Marketing Cloud unavailable", why, status=503)
    except SfmcError as err:
        log.warning("sso sign-in failed", extra={"reason": err.reason})
        return _failure(request, "Not signed in", _refused_why(err), status=401)
    await request.app[CONNECTIONS].save_sign_in(info, tokens, tssd=tssd, auth_url=base)
    request.app[SYNC_WORKER].unhold_soon()  # webhooks held for want of a sign-in resume now
    identity = sessions.AdminIdentity(info.mid, info.enterprise_id, info.user_id, info.email)
    await sessions.start(request, identity, source=SSO_SOURCE)
    if not tokens.refresh_token:
        await sessions.flash(
            request,
            "Signed in, but Marketing Cloud granted no offline access, so background work "
            "cannot use this connection. Add the offline scope to the package's Web App "
            "integration and SFMC_SCOPES.",
        )
    log.info("sso sign-in", extra={"mid": info.mid})
    raise web.HTTPFound(taken.next_path)


def _refused_why(err: SfmcError) -> str:
    if isinstance(err, SfmcGrantRefused):
        return (
            "Marketing Cloud refused the sign-in code (it may have expired or been used). "
            "Start again from Marketing Cloud."
        )
    if err.reason == "missing_mid":
        return "Marketing Cloud did not say which business unit you are working in."
    if err.reason == "bad_tssd":
        return "Marketing Cloud's answer named an invalid tenant. Start again."
    if err.reason == "invalid_client":
        return (
            "Marketing Cloud did not accept this service's client ID and secret. Ask your "
            "operator to check SFMC_CLIENT_ID and SFMC_CLIENT_SECRET."
        )
    return "Marketing Cloud refused to finish the sign-in. Start again from Marketing Cloud."
