"""Request bodies and headers from strangers: refused before they cost anything, read with a
deadline before any handler runs.

- A `Content-Encoding` other than identity is refused (415) before a byte is read: nobody who
  calls us compresses (JB, Marketing Cloud SSO, the editor, browsers posting forms), and a
  small gzip can expand to gigabytes. The server also runs with aiohttp's automatic
  decompression off (`SERVER_OPTIONS`), so nothing is ever inflated.
- Every body is read here, whole, before the handler: within `body_read_seconds` (408 after)
  and `max_body_bytes` (413). So a slow sender holds a socket for seconds, never an execute
  slot or a database transaction. Bodies that arrived with their headers take no timer (JB's
  fast path); at most `max_slow_body_reads` bodies may trickle in at once (503 beyond).
- Headers that must be ASCII (Cookie, Authorization) get 400 when they are not, instead of
  failing somewhere deep in a parser.
- `read_form` parses urlencoded forms as strict UTF-8 and answers 400 for anything else.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler
from multidict import MultiDict, MultiDictProxy

from activity.appkeys import METRICS, SETTINGS
from activity.config import Settings

# Handed to aiohttp wherever the app is served (run_app, AppRunner): never inflate a body, and
# give the rest of a refused body 2 s (not 10) to arrive before closing the connection.
SERVER_OPTIONS: dict[str, Any] = {"auto_decompress": False, "lingering_time": 2.0}
FORM_TYPE = "application/x-www-form-urlencoded"
WEBHOOK_PREFIX = "/webhooks/"
WEBHOOK_MAX_BODY_BYTES = 1024 * 1024  # Rokt's webhook payloads; every other route has less
MAX_FORM_FIELDS = 100
_ASCII_HEADERS = ("Cookie", "Authorization")
_IDENTITY = frozenset({"", "identity"})

log = logging.getLogger("activity.http")


class SlowReads:
    """How many bodies are trickling in right now."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


BODY_READS = web.AppKey("body_reads", SlowReads)


def refused(status: int, reason: str, error: str, *, close: bool = False) -> web.Response:
    response = web.json_response({"error": error, "reason": reason}, status=status)
    if close:
        response.force_close()
    return response


def _refuse(request: web.Request, status: int, reason: str, error: str) -> web.Response:
    request.app[METRICS].http_refused.labels(reason).inc()
    log.info("request refused", extra={"reason": reason, "path": request.path})
    return refused(status, reason, error, close=status in (408, 413, 415, 503))


@web.middleware
async def request_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    headers = request.headers
    encoding = headers.get("Content-Encoding")
    if encoding is not None and encoding.strip().lower() not in _IDENTITY:
        return _refuse(
            request,
            415,
            "content_encoding",
            "Content-Encoding is not accepted here; send the body uncompressed",
        )
    for name in _ASCII_HEADERS:
        value = headers.get(name)
        if value is not None and not value.isascii():
            return _refuse(
                request, 400, "bad_header", f"the {name} header holds bytes that are not ASCII"
            )
    if not request.body_exists:
        return await handler(request)
    settings = request.app[SETTINGS]
    limit = settings.max_body_bytes
    if request.path.startswith(WEBHOOK_PREFIX):
        limit = max(limit, WEBHOOK_MAX_BODY_BYTES)
    length = request.content_length
    if length is not None and length > limit:
        return _refuse(request, 413, "too_large", "request body too large")
    try:
        if request.content.is_eof():
            body = await request.read()  # it all came with the headers: nothing to wait for
        else:
            read = await _read_slowly(request, settings)
            if isinstance(read, web.Response):
                return read
            body = read
    except web.HTTPRequestEntityTooLarge:  # aiohttp's own bound, the largest route limit
        return _refuse(request, 413, "too_large", "request body too large")
    except HttpProcessingError as err:  # a chunked body that breaks the protocol
        return _refuse(request, 400, "malformed_body", f"the body is malformed: {err.message}")
    except ConnectionError:  # the sender left mid-body; nobody will read this answer
        return _refuse(request, 400, "body_incomplete", "the connection closed mid-body")
    if len(body) > limit:
        return _refuse(request, 413, "too_large", "request body too large")
    return await handler(request)


async def _read_slowly(request: web.Request, settings: Settings) -> bytes | web.Response:
    reads = request.app[BODY_READS]
    if reads.count >= settings.max_slow_body_reads:
        return _refuse(request, 503, "overloaded", "too many bodies arriving at once; retry")
    reads.count += 1
    seconds = settings.body_read_seconds
    try:
        async with asyncio.timeout(seconds):
            return await request.read()
    except TimeoutError:
        error = f"the request body did not arrive within {seconds:g} s"
        return _refuse(request, 408, "body_timeout", error)
    finally:
        reads.count -= 1


async def read_form(request: web.Request) -> MultiDictProxy[str]:
    """The urlencoded form the request carries; HTTPBadRequest (400, with a reason) for a body
    that is not one: another type, a charset other than UTF-8, bytes that are not UTF-8."""
    body = await request.read()
    if not body:
        return MultiDictProxy(MultiDict())
    if request.content_type != FORM_TYPE:
        raise _bad_form(f"expected a {FORM_TYPE} form, got {request.content_type or 'no type'}")
    charset = (request.charset or "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise _bad_form(f"the form's charset {charset!r} is not supported; send UTF-8")
    try:
        fields = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except UnicodeDecodeError:
        raise _bad_form("the form is not UTF-8") from None
    except ValueError:  # more than MAX_FORM_FIELDS fields
        raise _bad_form(f"the form has more than {MAX_FORM_FIELDS} fields") from None
    return MultiDictProxy(MultiDict(fields))


def _bad_form(error: str) -> web.HTTPBadRequest:
    body = json.dumps({"error": error, "reason": "bad_form"})
    return web.HTTPBadRequest(text=body, content_type="application/json")
