"""POST /execute: verify the JWT, run the pipeline, answer JB fast."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from activity.appkeys import EXECUTOR, METRICS, WORKER
from activity.errors import AuthError, StorageUnavailable
from activity.execution import QUEUED
from activity.logs import log_context
from activity.views.jb_auth import unauthorized, verified_payload

log = logging.getLogger("activity.execute")
MAX_LOGGED_ID = 128


def _log_ids(payload: Mapping[str, Any]) -> dict[str, str]:
    """Journey and activity ids for log lines, read leniently: the pipeline validates them."""
    contents = payload.get("contents")
    body = contents if "inArguments" not in payload and isinstance(contents, Mapping) else payload

    def text(*keys: str) -> str:
        for key in keys:
            value = body.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool):
                return str(value)[:MAX_LOGGED_ID]
        return ""

    return {
        "journey_id": text("journeyId"),
        "activity_id": text("activityId", "activityObjectID"),
    }


async def execute(request: web.Request) -> web.Response:
    started = time.perf_counter()
    metrics = request.app[METRICS]
    try:
        payload = await verified_payload(request)
    except AuthError as err:
        metrics.executes.labels("unauthorized").inc()
        log.warning("execute rejected", extra={"reason": err.reason})
        return unauthorized(err)
    with log_context(**_log_ids(payload)):
        try:
            result = await request.app[EXECUTOR].run(payload)
        except StorageUnavailable as err:
            metrics.executes.labels("unavailable").inc()
            log.error("execute not durable", extra={"reason": err.reason})
            # 503 makes JB retry; nothing was promised.
            return web.json_response(
                {"error": "the contact could not be stored; retry", "reason": err.reason},
                status=503,
            )
    status = str(result.body.get("roktStatus", ""))
    metrics.executes.labels(status).inc()
    metrics.execute_seconds.observe(time.perf_counter() - started)
    if status == QUEUED:
        request.app[WORKER].wake()
    return web.json_response(result.body, status=result.status)
