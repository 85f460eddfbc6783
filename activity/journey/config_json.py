from __future__ import annotations

from aiohttp import web

from activity.appkeys import ASSET_VERSION, SETTINGS
from activity.journey.manifest import load_template, render_manifest


async def config_json(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    manifest = render_manifest(
        load_template(), settings.public_base, settings.app_key, request.app[ASSET_VERSION]
    )
    return web.json_response(manifest, headers={"Cache-Control": "no-cache"})
