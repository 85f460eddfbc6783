"""The fake's journey API: `GET /interaction/v1/interactions/{id}`, and a control route that
puts journeys in a business unit (`POST /__fake/journeys {"mid", "id", "name", "key",
"version"}`).

As strict as the real one on what the service relies on: a Bearer access token from /v2/token
is required (401 otherwise, like /v2/userinfo), and a journey is visible only to its own
business unit's token (404 for another's, as Marketing Cloud answers for an id it does not
know). The answer carries the fields the Journey Builder REST reference lists for an
interaction: id, key, name, version, status.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from activity.devtools.fake_sfmc.auth import bearer_grant
from activity.devtools.fake_sfmc.http import (
    insufficient_scope,
    lacks_scope,
    read_json,
    recorded,
)

JOURNEYS = web.AppKey("fake_sfmc_journeys", dict)  # (mid, id) -> journey JSON
ENDPOINT = "journey"


async def add_journey(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    fields = ("mid", "id", "name")
    if not isinstance(body, dict) or not all(isinstance(body.get(f), str) for f in fields):
        return web.json_response({"error": "mid, id and name are required strings"}, status=400)
    journey: dict[str, Any] = {
        "id": body["id"],
        "key": str(body.get("key", "")),
        "name": body["name"],
        "version": int(body.get("version", 1)),
        "status": "Published",
    }
    request.app[JOURNEYS][(body["mid"], body["id"])] = journey
    return web.json_response(journey)


async def interaction(request: web.Request) -> web.StreamResponse:
    async def answer() -> web.StreamResponse:
        grant = bearer_grant(request)
        if grant is None:
            return web.json_response(
                {"message": "Not Authorized", "errorcode": 0, "documentation": ""},
                status=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if lacks_scope(grant.scope, "journeys_read"):
            return insufficient_scope()
        found = request.app[JOURNEYS].get((grant.unit.mid, request.match_info["id"]))
        if found is None:
            return web.json_response(
                {"message": "Interaction not found", "errorcode": 30000, "documentation": ""},
                status=404,
            )
        return web.json_response(found)

    return await recorded(request, ENDPOINT, None, answer)


def add_routes(app: web.Application) -> None:
    app[JOURNEYS] = {}
    app.router.add_post("/__fake/journeys", add_journey)
    app.router.add_get("/interaction/v1/interactions/{id}", interaction)
