"""Marketing Cloud's async data-extension rows API, as a client.

PUT {rest}data/v1/async/dataextensions/key:{key}/rows {"items": [...]} answers 202 with a
requestId; GET {rest}data/v1/async/{requestId}/status until `requestStatus` is Complete (or
Error); GET .../results names the rows that failed (marketing-cloud-and-webhooks.md section 3).
Unconfirmed: how a result names its row. We read `keys` (or the primary-key field itself) when
present; the sync worker splits a batch whose errors name no row until each stands alone.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from activity import remote_json
from activity.errors import SfmcError, SfmcUnavailable
from activity.rokt.retry import is_retryable, parse_retry_after
from activity.sfmc.data_extension import PRIMARY_KEY
from activity.sfmc.tokens import Access, SfmcUnauthorized

TIMEOUT_SECONDS = 60.0
REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
MAX_ANSWER_BYTES = 4 * 1024 * 1024


class SfmcRetryLater(SfmcUnavailable):
    """429, 5xx, network errors, or a request still pending: try again later."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class SfmcForbidden(SfmcUnauthorized):
    """403: the token may not do this. Tried once more with a fresh token (the cached one may
    predate a new sign-in); then the connection needs a sign-in that may."""

    reason = "sfmc_forbidden"

    def __init__(self, message: str) -> None:
        super().__init__(message, status=403)


class RowsRejected(SfmcError):
    """A 4xx other than 401 on the upsert itself: Marketing Cloud's message says why."""

    reason = "sfmc_rejected"


@dataclass(frozen=True)
class RowError:
    subscription_id: str  # "" when the result names no row
    message: str


Sleep = Callable[[float], Awaitable[None]]


def _message(body: Any, status: int) -> str:
    if isinstance(body, dict):
        parts = [
            str(body.get("errorcode") or body.get("errorCode") or ""),
            str(body.get("message") or ""),
        ]
        extra = body.get("additionalErrors")
        if isinstance(extra, list):
            parts += [str(e.get("message", "")) for e in extra if isinstance(e, dict)]
        text = ": ".join(p for p in parts if p)
        if text:
            return remote_json.plain_text(text)[:500]
    return f"HTTP {status}"


async def _request(
    http: aiohttp.ClientSession, access: Access, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    url = f"{access.rest_url}{path}"
    headers = {"Authorization": f"Bearer {access.token}", "Accept": "application/json"}
    try:
        async with http.request(
            method,
            url,
            data=None if body is None else json.dumps(body, ensure_ascii=False).encode(),
            headers={**headers, "Content-Type": "application/json"}
            if body is not None
            else headers,
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
            allow_redirects=False,
        ) as resp:
            raw = await remote_json.read_capped(resp.content, MAX_ANSWER_BYTES)
            status, retry_after = resp.status, resp.headers.get("Retry-After")
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise SfmcRetryLater(f"Marketing Cloud unreachable ({type(exc).__name__})") from None
    answer = remote_json.loads(raw) if raw and len(raw) <= MAX_ANSWER_BYTES else None
    if status == 401:
        raise SfmcUnauthorized(f"{method} {path.split('/')[2]} answered 401", status=401)
    if status == 403:
        raise SfmcForbidden(f"{method} {path.split('/')[2]} answered 403 ({_message(answer, 403)})")
    if is_retryable(status):
        raise SfmcRetryLater(
            f"Marketing Cloud answered {status} ({_message(answer, status)})",
            status=status,
            retry_after=parse_retry_after(retry_after),
        )
    if status >= 400 and method == "PUT":
        raise RowsRejected(_message(answer, status), status=status)
    if status >= 400:
        # A refused question about a request (unknown, expired, no permission) says nothing
        # against its rows: they are sent again later, never dead letters.
        raise SfmcRetryLater(
            f"Marketing Cloud answered {status} about request ({_message(answer, status)})",
            status=status,
        )
    return status, answer


async def upsert(
    http: aiohttp.ClientSession, access: Access, key: str, rows: Sequence[dict[str, Any]]
) -> str:
    _, answer = await _request(
        http, access, "PUT", f"data/v1/async/dataextensions/key:{key}/rows", {"items": list(rows)}
    )
    request_id = answer.get("requestId") if isinstance(answer, dict) else None
    if not isinstance(request_id, str) or not REQUEST_ID.fullmatch(request_id):
        # It goes into the next URLs: only an id, never a path of the answer's choosing.
        raise SfmcRetryLater("Marketing Cloud's upsert answer has no usable requestId")
    return request_id


async def wait(
    http: aiohttp.ClientSession,
    access: Access,
    request_id: str,
    *,
    delays: Sequence[float],
    sleep: Sleep = asyncio.sleep,
) -> bool:
    """Poll until the request is done; True when it has errors. SfmcRetryLater when it is
    still pending after the last delay (the rows are sent again later: upserts are idempotent)."""
    for delay in delays:
        if delay > 0:
            await sleep(delay)
        _, answer = await _request(http, access, "GET", f"data/v1/async/{request_id}/status")
        status = answer.get("status") if isinstance(answer, dict) else None
        state = str(status.get("requestStatus", "")) if isinstance(status, dict) else ""
        if state == "Complete":
            return bool(status.get("hasErrors")) if isinstance(status, dict) else False
        if state == "Error":
            return True
    raise SfmcRetryLater(f"Marketing Cloud request {request_id} still pending")


async def row_errors(
    http: aiohttp.ClientSession, access: Access, request_id: str
) -> list[RowError]:
    _, answer = await _request(http, access, "GET", f"data/v1/async/{request_id}/results")
    items = answer.get("items") if isinstance(answer, dict) else None
    found = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or str(item.get("status", "Error")) != "Error":
            continue
        keys = item.get("keys") if isinstance(item.get("keys"), dict) else item
        sub = keys.get(PRIMARY_KEY) if isinstance(keys, dict) else None
        found.append(RowError(str(sub or "").lower(), _message(item, 400)))
    return found
