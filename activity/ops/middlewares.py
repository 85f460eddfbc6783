"""Cross-cutting HTTP concerns: framing policy, request ids, and no unhandled 500s."""

from __future__ import annotations

import itertools
import logging
import re
import secrets

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from activity.appkeys import METRICS
from activity.errors import StorageUnavailable
from activity.ops.bodies import request_bodies
from activity.ops.logs import log_context

# Marketing Cloud's hosts only (not even 'self'): Journey Builder frames the editor and the
# running views, Marketing Cloud frames the settings pages, nothing else may.
FRAME_ANCESTORS = "frame-ancestors https://*.exacttarget.com https://*.marketingcloudapps.com"
# Every page runs only our own files: escaping is then not the only defence against XSS. A
# handler may send a stricter policy of its own (the editor does); frame-ancestors is added.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'"
)

REQUEST_ID = web.RequestKey("request_id", str)
# A caller's id is logged, so it may not carry a dot: nothing shaped like a JWT gets into logs.
_INCOMING_ID = re.compile(r"[A-Za-z0-9_:-]{1,64}")
log = logging.getLogger("activity.http")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        _decorate(response)
        raise
    _decorate(response)
    return response


def _decorate(response: web.StreamResponse) -> None:
    if response.prepared:
        return
    existing = response.headers.get("Content-Security-Policy")
    response.headers["Content-Security-Policy"] = (
        f"{existing}; {FRAME_ANCESTORS}" if existing else f"{PAGE_POLICY}; {FRAME_ANCESTORS}"
    )
    response.headers.pop("X-Frame-Options", None)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")


# Our own ids: a random prefix per process and a counter, unique without a system call per
# request (secrets.token_hex reads the kernel's random source each time).
_ID_PREFIX = secrets.token_hex(8)
_ID_COUNTER = itertools.count(1)


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


@web.middleware
async def request_ids(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get("X-Request-Id", "")
    rid = incoming if incoming and _INCOMING_ID.fullmatch(incoming) else new_request_id()
    request[REQUEST_ID] = rid
    with log_context(request_id=rid):
        response = await handler(request)
    if not response.prepared:
        response.headers["X-Request-Id"] = rid
    return response


def _too_large() -> web.Response:
    return web.json_response({"error": "request body too large", "reason": "too_large"}, status=413)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        return _too_large()
    except web.HTTPException:
        raise
    except StorageUnavailable as exc:
        # The database is down or refused: not a bug, and the caller can try again. Views
        # with a promise to keep (execute, webhooks) answer this themselves.
        log.warning(
            "database unavailable",
            extra={"request_id": request.get(REQUEST_ID, ""), "reason": exc.reason},
        )
        return web.json_response(
            {"error": "the database cannot answer right now; try again shortly",
             "reason": exc.reason},
            status=503,
            headers={"Retry-After": "5", "Cache-Control": "no-store"},
        )  # fmt: skip
    except Exception:
        request.app[METRICS].http_errors.inc()
        log.exception(
            "unhandled error",
            extra={"request_id": request.get(REQUEST_ID, ""), "path": request.path},
        )
        return web.json_response({"error": "internal error", "reason": "internal"}, status=500)


def all_middlewares() -> list[Middleware]:
    return [security_headers, request_ids, json_errors, request_bodies]
