"""POST /execute (placeholder until the execute pipeline lands)."""

from __future__ import annotations

from aiohttp import web

from activity.errors import AuthError
from activity.views.jb_auth import unauthorized, verified_payload


async def execute(request: web.Request) -> web.Response:
    try:
        await verified_payload(request)
    except AuthError as err:
        return unauthorized(err)
    return web.json_response({"roktStatus": "invalid", "roktError": "not implemented"})
