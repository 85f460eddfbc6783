"""POST /execute: verify the JWT, run the pipeline, answer JB fast."""

from __future__ import annotations

import logging
import time

from aiohttp import web

from activity.appkeys import EXECUTOR, METRICS, READINESS, WORKER
from activity.errors import AuthError, StorageUnavailable
from activity.journey.execution import QUEUED, log_ids
from activity.journey.jb_auth import unauthorized, verified_json
from activity.journey.subscribing import RoktUnavailable
from activity.journey.text_checks import plain_json
from activity.ops.logs import log_context
from activity.storage.rows import dump_body

log = logging.getLogger("activity.execute")
JSON_TYPE = "application/json"


async def execute(request: web.Request) -> web.Response:
    with request.app[EXECUTOR].admitted() as admitted:
        if not admitted:
            request.app[METRICS].count_execute("overloaded")
            return web.json_response(
                {"error": "too many contacts in flight; retry", "reason": "overloaded"},
                status=503,
            )
        return await _execute(request)


async def _execute(request: web.Request) -> web.Response:
    started = time.perf_counter()
    metrics = request.app[METRICS]
    try:
        payload, text = await verified_json(request)
    except AuthError as err:
        metrics.count_execute("unauthorized")
        log.warning("execute rejected", extra={"reason": err.reason})
        return unauthorized(err)
    with log_context(**log_ids(payload)):
        try:
            result = await request.app[EXECUTOR].run(payload, plain=plain_json(text))
        except StorageUnavailable as err:
            request.app[READINESS].write_failed()
            metrics.count_execute("unavailable")
            log.error("execute not durable", extra={"reason": err.reason})
            # 503 makes JB retry; nothing was promised.
            return web.json_response(
                {"error": "the contact could not be stored; retry", "reason": err.reason},
                status=503,
            )
        except RoktUnavailable as err:
            metrics.count_execute("rokt_unavailable")
            log.warning("subscribe not answered by Rokt", extra={"reason": err.reason})
            return web.json_response({"error": err.message, "reason": err.reason}, status=503)
    status = str(result.body.get("roktStatus", ""))
    metrics.count_execute(status)
    metrics.execute_seconds.observe(time.perf_counter() - started)
    if status == QUEUED:
        request.app[WORKER].wake()
        request.app[READINESS].write_succeeded()
    # The stored answer's own text (encoded once per distinct answer), not a second encoding.
    return web.Response(
        body=dump_body(result.body).encode(), status=result.status, content_type=JSON_TYPE
    )
