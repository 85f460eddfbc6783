"""Every route in one place."""

from __future__ import annotations

from aiohttp import web

from activity.views import execute, health, lifecycle, manifest


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/config.json", manifest.config_json)
    for route in lifecycle.ROUTES:
        app.router.add_post(f"/{route}", lifecycle.make_handler(route))
    app.router.add_post("/execute", execute.execute)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
