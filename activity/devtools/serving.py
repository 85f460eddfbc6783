"""Serving a fake (Rokt, Marketing Cloud) in-process on a port, for tests, the demo and the
benchmark: `start` returns the URL it listens on and the runner that stops it."""

from __future__ import annotations

from aiohttp import web


async def start(
    app: web.Application, host: str = "127.0.0.1", port: int = 0
) -> tuple[str, web.AppRunner]:
    """Serve `app` (port 0: a free one); stop it with `await runner.cleanup()`."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    return f"http://{bound_host}:{bound_port}", runner
