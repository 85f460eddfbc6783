"""Shared request verification for Journey Builder calls."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from activity.appkeys import SETTINGS
from activity.errors import AuthError
from activity.journey import jwt_auth


def unauthorized(err: AuthError) -> web.Response:
    return web.json_response({"error": err.message, "reason": err.reason}, status=401)


async def verified_payload(request: web.Request) -> dict[str, Any]:
    """The JWT payload of a JB call; raises AuthError. Reads the raw body, whatever the type."""
    return (await verified_json(request))[0]


async def verified_json(request: web.Request) -> tuple[dict[str, Any], bytes]:
    """`verified_payload`, with the payload's JSON text as it was signed."""
    body = await request.read()
    return jwt_auth.verify_json(body, request.app[SETTINGS].jwt_secret, clock=time.time)
