"""POST /execute: verify the JWT, run the pipeline, answer JB fast."""

from __future__ import annotations

import logging
import time

from aiohttp import web

from activity.appkeys import EXECUTOR, METRICS, WORKER
from activity.errors import AuthError, StorageUnavailable
from activity.execution import QUEUED
from activity.views.jb_auth import unauthorized, verified_payload

log = logging.getLogger("activity.execute")


async def execute(request: web.Request) -> web.Response:
    started = time.perf_counter()
    metrics = request.app[METRICS]
    try:
        payload = await verified_payload(request)
    except AuthError as err:
        metrics.executes.labels("unauthorized").inc()
        log.warning("execute rejected", extra={"reason": err.reason})
        return unauthorized(err)
    try:
        result = await request.app[EXECUTOR].run(payload)
    except StorageUnavailable as err:
        metrics.executes.labels("unavailable").inc()
        log.error("execute not durable", extra={"reason": err.reason})
        # 503 makes JB retry; nothing was promised.
        return web.json_response(
            {"error": "the contact could not be stored; retry", "reason": err.reason}, status=503
        )
    status = str(result.body.get("roktStatus", ""))
    metrics.executes.labels(status).inc()
    metrics.execute_seconds.observe(time.perf_counter() - started)
    if status == QUEUED:
        request.app[WORKER].wake()
    return web.json_response(result.body, status=result.status)
