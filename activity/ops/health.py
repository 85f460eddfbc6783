"""GET /healthz (the process answers) and GET /readyz (it can do its job: take writes)."""

from __future__ import annotations

from aiohttp import web

from activity.appkeys import READINESS, STORE


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[STORE].ping()
    except Exception:
        return web.json_response({"status": "database unreachable"}, status=503)
    problem = await request.app[READINESS].problem(request.app[STORE])
    if problem:
        return web.json_response({"status": problem}, status=503)
    return web.json_response({"status": "ready"})
