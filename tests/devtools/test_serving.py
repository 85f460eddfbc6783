"""Serving an app in-process on a free port."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from activity.devtools import serving


async def pong(_: web.Request) -> web.Response:
    return web.Response(text="pong")


async def test_the_url_reaches_the_app_until_cleanup() -> None:
    app = web.Application()
    app.router.add_get("/ping", pong)
    url, runner = await serving.start(app)
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/ping") as resp:
            assert (resp.status, await resp.text()) == (200, "pong")
        await runner.cleanup()
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.get(f"{url}/ping"):
                pass
