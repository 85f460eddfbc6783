"""POST /webhooks/rokt/{token}: Rokt Calendar webhooks, answered once stored."""

from __future__ import annotations

import logging

from aiohttp import web

from activity.appkeys import METRICS, WEBHOOK_INTAKE, WEBHOOK_URLS
from activity.errors import StorageUnavailable, WebhookMalformed
from activity.ops.bodies import WEBHOOK_MAX_BODY_BYTES as MAX_BODY_BYTES
from activity.rokt.webhook_intake import AccountMismatch
from activity.rokt.webhook_payloads import parse_webhook

log = logging.getLogger("activity.webhooks")


def _answer(request: web.Request, status: int, outcome: str, message: str = "") -> web.Response:
    request.app[METRICS].webhooks.labels(outcome).inc()
    body = {"status": outcome} if status == 200 else {"error": message, "reason": outcome}
    return web.json_response(body, status=status)


async def _body(request: web.Request) -> bytes | None:
    """The body (read by ops.bodies before this handler), or None when over MAX_BODY_BYTES."""
    data = await request.read()
    return data if len(data) <= MAX_BODY_BYTES else None


async def receive(request: web.Request) -> web.Response:
    try:
        mid = await request.app[WEBHOOK_URLS].mid_for(request.match_info["token"])
    except StorageUnavailable:
        return _answer(request, 503, "storage_unavailable", "cannot check the webhook URL now")
    if mid is None:
        return _answer(request, 404, "unknown_webhook_url", "no business unit has this webhook URL")
    body = await _body(request)
    if body is None:
        return _answer(
            request, 413, "too_large", f"webhook bodies are limited to {MAX_BODY_BYTES} bytes"
        )
    intake = request.app[WEBHOOK_INTAKE]
    try:
        hook = parse_webhook(body, intake.now())
        outcome = await intake.receive(mid, hook)
    except WebhookMalformed as exc:
        log.info("malformed webhook", extra={"mid": mid, "reason": exc.reason})
        return _answer(request, 400, exc.reason, exc.message)
    except AccountMismatch as exc:
        log.warning("webhook for another account", extra={"mid": mid})
        return _answer(request, 422, exc.reason, exc.message)
    except StorageUnavailable:
        log.warning("webhook not stored: database unavailable", extra={"mid": mid})
        return _answer(
            request, 503, "storage_unavailable", "the webhook could not be stored; retry"
        )
    return _answer(request, 200, outcome)
