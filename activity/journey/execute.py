"""POST /execute: verify the JWT, run the pipeline, answer JB fast."""

from __future__ import annotations

import logging
import time

from aiohttp import web

from activity.appkeys import EXECUTOR, METRICS, READINESS, WORKER
from activity.errors import AuthError, StorageUnavailable
from activity.journey.execution import QUEUED, log_ids
from activity.journey.jb_auth import unauthorized, verified_payload
from activity.journey.subscribing import RoktUnavailable
from activity.ops.logs import log_context

log = logging.getLogger("activity.execute")


async def execute(request: web.Request) -> web.Response:
    with request.app[EXECUTOR].admitted() as admitted:
        if not admitted:
            request.app[METRICS].executes.labels("overloaded").inc()
            return web.json_response(
                {"error": "too many contacts in flight; retry", "reason": "overloaded"},
                status=503,
            )
        return await _execute(request)


async def _execute(request: web.Request) -> web.Response:
    started = time.perf_counter()
    metrics = request.app[METRICS]
    try:
        payload = await verified_payload(request)
    except AuthError as err:
        metrics.executes.labels("unauthorized").inc()
        log.warning("execute rejected", extra={"reason": err.reason})
        return unauthorized(err)
    with log_context(**log_ids(payload)):
        try:
            result = await request.app[EXECUTOR].run(payload)
        except StorageUnavailable as err:
            request.app[READINESS].write_failed()
            metrics.executes.labels("unavailable").inc()
            log.error("execute not durable", extra={"reason": err.reason})
            # 503 makes JB retry; nothing was promised.
            return web.json_response(
                {"error": "the contact could not be stored; retry", "reason": err.reason},
                status=503,
            )
        except RoktUnavailable as err:
            metrics.executes.labels("rokt_unavailable").inc()
            log.warning("subscribe not answered by Rokt", extra={"reason": err.reason})
            return web.json_response({"error": err.message, "reason": err.reason}, status=503)
    status = str(result.body.get("roktStatus", ""))
    metrics.executes.labels(status).inc()
    metrics.execute_seconds.observe(time.perf_counter() - started)
    if status == QUEUED:
        request.app[WORKER].wake()
        request.app[READINESS].write_succeeded()
    return web.json_response(result.body, status=result.status)
