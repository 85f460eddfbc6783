"""GET /metrics: Prometheus text format, for a scraper holding ACTIVITY_METRICS_TOKEN.

The outbox gauges read the database, and every endpoint that reads stored data is
authenticated: Prometheus sends `Authorization: Bearer <token>`. Without a configured token
the endpoint does not exist (404), so a deployment never exposes it by accident.
"""

from __future__ import annotations

import hmac
import logging
import math
import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from activity.appkeys import METRICS, SETTINGS, STORE
from activity.errors import StorageUnavailable
from activity.ops.metrics import exposition

log = logging.getLogger("activity.ops.metrics")


def _authorized(request: web.Request, expected: str) -> bool:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return False
    return hmac.compare_digest(presented.strip().encode(), expected.encode())


async def metrics(request: web.Request) -> web.Response:
    expected = request.app[SETTINGS].metrics_token
    if not expected:
        return web.json_response(
            {"error": "metrics are off: set ACTIVITY_METRICS_TOKEN", "reason": "metrics_off"},
            status=404,
        )
    if not _authorized(request, expected):
        log.warning("metrics scrape refused", extra={"reason": "bad_metrics_token"})
        return web.json_response(
            {
                "error": "send Authorization: Bearer <ACTIVITY_METRICS_TOKEN>",
                "reason": "unauthorized",
            },
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    meters = request.app[METRICS]
    store = request.app[STORE]
    try:
        depth = await store.outbox_depth(time.time())
        retrying = await store.retry_summary(None)
    except StorageUnavailable as err:
        # NaN says "unknown"; the counters are still worth scraping while the database is down.
        log.warning("outbox depth unavailable", extra={"reason": err.reason})
        for gauge in (
            meters.outbox_depth,
            meters.outbox_oldest_age,
            meters.outbox_retrying,
            meters.outbox_retry_max_attempt,
        ):
            gauge.set(math.nan)
    else:
        meters.outbox_depth.set(depth.pending)
        meters.outbox_oldest_age.set(depth.oldest_age_seconds)
        meters.outbox_retrying.set(sum(r.waiting for r in retrying))
        meters.outbox_retry_max_attempt.set(max([r.max_attempts for r in retrying] + [0]))
    return web.Response(
        body=exposition(meters.registry, request.app[SETTINGS].metrics_dir),
        headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"},
    )
