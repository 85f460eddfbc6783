"""Every route in one place."""

from __future__ import annotations

from aiohttp import web

from activity.views import execute, health, lifecycle, manifest, settings_page, sso


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/config.json", manifest.config_json)
    for route in lifecycle.ROUTES:
        app.router.add_post(f"/{route}", lifecycle.make_handler(route))
    app.router.add_post("/execute", execute.execute)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    app.router.add_get("/login", sso.login_help)
    app.router.add_post("/login", sso.login)
    app.router.add_post("/logout", sso.logout)
    app.router.add_get("/settings", settings_page.show)
    app.router.add_post("/settings", settings_page.save)
    app.router.add_post("/settings/test", settings_page.test_connection)
    app.router.add_get("/settings/delete", settings_page.confirm_delete)
    app.router.add_post("/settings/delete", settings_page.delete)
