"""save / validate / publish / unpublish / stop: verify, record, answer 200 {}."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web

from activity.appkeys import METRICS, STORE
from activity.errors import AuthError, StorageUnavailable
from activity.journey.jb_auth import unauthorized, verified_payload
from activity.journey.journey_names import journey_name_from
from activity.storage.models import LifecycleCall

log = logging.getLogger("activity.lifecycle")
ROUTES = ("save", "validate", "publish", "unpublish", "stop")
MAX_ID_LENGTH = 200


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key, "")
    return str(value)[:MAX_ID_LENGTH] if value is not None else ""


def make_handler(route: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        try:
            payload = await verified_payload(request)
        except AuthError as err:
            request.app[METRICS].lifecycle_calls.labels(route, "unauthorized").inc()
            log.warning("lifecycle call rejected", extra={"route": route, "reason": err.reason})
            return unauthorized(err)
        call = LifecycleCall(
            route=route,
            activity_object_id=_text(payload, "activityObjectID"),
            interaction_id=_text(payload, "interactionId"),
            original_definition_id=_text(payload, "originalDefinitionId"),
            interaction_key=_text(payload, "interactionKey"),
            interaction_version=_text(payload, "interactionVersion"),
            at=time.time(),
        )
        named = journey_name_from(payload, call.at)
        try:
            await request.app[STORE].record_lifecycle(call)
            if named is not None:
                await request.app[STORE].put_journey_name(named)
        except StorageUnavailable as err:
            # The database that execute needs is down: blocking activation now beats
            # publishing a journey whose contacts would all be refused.
            request.app[METRICS].lifecycle_calls.labels(route, "unavailable").inc()
            log.error("lifecycle call not recorded", extra={"route": route, "reason": err.reason})
            return web.json_response({"error": err.message, "reason": err.reason}, status=503)
        request.app[METRICS].lifecycle_calls.labels(route, "ok").inc()
        log.info(
            "lifecycle call",
            extra={
                "route": route,
                "journey_id": call.interaction_id,
                "activity_id": call.activity_object_id,
            },
        )
        return web.json_response({})

    handler.__name__ = f"lifecycle_{route}"
    return handler
