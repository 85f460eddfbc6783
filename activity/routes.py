"""Every route in one place."""

from __future__ import annotations

from aiohttp import web

from activity.admin import (
    marketing_cloud_page,
    operations,
    running,
    settings_page,
    sso,
    sso_handoff,
    sso_oauth,
)
from activity.appkeys import ASSET_VERSION
from activity.journey import config_json as manifest
from activity.journey import editor, editor_api, event_picker, execute, lifecycle
from activity.ops import health
from activity.ops import metrics_view as metrics
from activity.rokt import webhooks


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/config.json", manifest.config_json)
    for route in lifecycle.ROUTES:
        app.router.add_post(f"/{route}", lifecycle.make_handler(route))
    app.router.add_post("/execute", execute.execute)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    app.router.add_get("/metrics", metrics.metrics)
    app.router.add_get("/login", sso.login_help)
    app.router.add_post("/login", sso.login)
    app.router.add_post("/logout", sso.logout)
    app.router.add_get("/sso/login", sso_oauth.login)
    app.router.add_get("/sso/callback", sso_oauth.callback)
    app.router.add_get("/sso/handoff", sso_handoff.handoff)
    app.router.add_get("/sso/handoff/finish", sso_handoff.finish)
    app.router.add_post("/settings/sfmc/disconnect", settings_page.disconnect_sfmc)
    app.router.add_get("/settings", settings_page.show)
    app.router.add_post("/settings", settings_page.save)
    app.router.add_post("/settings/test", settings_page.test_connection)
    app.router.add_get("/settings/delete", settings_page.confirm_delete)
    app.router.add_post("/settings/delete", settings_page.delete)
    app.router.add_get("/settings/deliveries", operations.show)
    app.router.add_post("/settings/webhook-url/rotate", marketing_cloud_page.rotate_webhook_url)
    app.router.add_post(
        "/settings/data-extensions/install", marketing_cloud_page.install_data_extensions
    )
    app.router.add_post("/webhooks/rokt/{token}", webhooks.receive)
    # The config UI in JB's iframe and the helper endpoints it calls.
    assets = editor.EditorAssets.load(app[ASSET_VERSION])
    app.router.add_get("/", assets.index)
    app.router.add_get("/static/{path:.+}", assets.asset)
    app.router.add_get("/api/timezones", editor_api.time_zones)
    app.router.add_post("/api/check", editor_api.check)
    app.router.add_post("/api/preview", editor_api.preview)
    app.router.add_get("/api/configured", editor_api.configured)
    app.router.add_get("/api/rokt/events", event_picker.events)  # needs the admin session
    app.router.add_get("/api/rokt/business-units", event_picker.business_units)
    # Journey Builder's running-journey hover and modal (need the admin session for data).
    pages = running.RunningPages.load(app[ASSET_VERSION])
    app.router.add_get("/running/hover", pages.hover)
    app.router.add_get("/running/modal", pages.modal)
    app.router.add_get("/running/stats", running.stats)
    app.router.add_post("/running/retry", running.retry)
