"""The one composition root: create_app(settings)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web

from activity.admin.sessions import setup_sessions
from activity.admin.settings_service import SettingsService
from activity.admin.sso_oauth import SIGN_IN_BURST, SIGN_INS_PER_SECOND
from activity.appkeys import (
    ASSET_VERSION,
    CALENDAR_EVENTS,
    CONNECTIONS,
    EXECUTOR,
    HTTP,
    JOURNEY_NAMER,
    KEYRING,
    METRICS,
    READINESS,
    SETTINGS,
    SETTINGS_SERVICE,
    SFMC_TOKENS,
    SIGN_INS,
    STORE,
    SYNC_WORKER,
    TOKENS,
    WEBHOOK_INTAKE,
    WEBHOOK_URLS,
    WORKER,
)
from activity.config import Settings
from activity.crypto import keyring_for
from activity.journey.editor import STATIC
from activity.journey.execution import Executor
from activity.ops.bodies import BODY_READS, WEBHOOK_MAX_BODY_BYTES, SlowReads
from activity.ops.metrics import Metrics
from activity.ops.middlewares import all_middlewares
from activity.ops.rate import TokenBucket
from activity.ops.readiness import Readiness
from activity.rokt.webhook_intake import WebhookIntake
from activity.rokt.webhook_urls import WebhookUrls
from activity.routes import setup_routes
from activity.sfmc.connections import ConnectionService
from activity.storage.factory import store_for
from activity.storage.retention import Pruner

ROOT = Path(__file__).resolve().parent.parent


def asset_version() -> str:
    """Changes whenever the UI or the package changes, so JB's iframe cache never goes stale."""
    digest = hashlib.sha256()
    for folder in (STATIC, Path(__file__).resolve().parent):
        if folder.exists():
            for path in sorted(folder.rglob("*")):
                if path.is_file() and path.suffix in {".js", ".css", ".html", ".py", ".svg"}:
                    digest.update(path.name.encode())
                    digest.update(path.read_bytes())
    lock = ROOT / "package-lock.json"  # Postmonger and SLDS are served with the same version
    if lock.exists():
        digest.update(lock.read_bytes())
    return digest.hexdigest()[:12]


async def _database(app: web.Application) -> AsyncIterator[None]:
    store = store_for(app[SETTINGS])
    await store.open()
    app[STORE] = store
    app[SETTINGS_SERVICE] = SettingsService(store, app[KEYRING])
    app[CONNECTIONS] = ConnectionService(store, app[KEYRING], app[SETTINGS])
    app[EXECUTOR] = Executor(
        store, app[SETTINGS_SERVICE], max_in_flight=app[SETTINGS].max_executes_in_flight
    )
    app[WEBHOOK_URLS] = WebhookUrls(store, app[KEYRING], app[SETTINGS].public_base)
    app[WEBHOOK_INTAKE] = WebhookIntake(store, app[SETTINGS_SERVICE])
    yield
    await store.close()


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    timeout = aiohttp.ClientTimeout(total=app[SETTINGS].rokt_timeout_seconds)
    connector = aiohttp.TCPConnector(limit=100, limit_per_host=50)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        app[HTTP] = session
        yield


async def _delivery(app: web.Application) -> AsyncIterator[None]:
    from activity.rokt.calendar_events import CalendarEvents
    from activity.rokt.client import RoktClient
    from activity.rokt.delivery import DeliveryWorker
    from activity.rokt.token_cache import TokenCache

    app[TOKENS] = TokenCache(app[HTTP], app[SETTINGS].rokt_api_url, metrics=app[METRICS])
    app[CALENDAR_EVENTS] = CalendarEvents(app[HTTP], app[SETTINGS].rokt_api_url, app[TOKENS])
    settings = app[SETTINGS]
    worker = DeliveryWorker(
        app[STORE],
        app[SETTINGS_SERVICE],
        RoktClient(app[HTTP], settings.rokt_api_url, app[TOKENS], app[METRICS]),
        metrics=app[METRICS],
        owner=settings.delivery_owner,
        batch_size=settings.delivery_batch_size,
        lease_seconds=settings.delivery_lease_seconds,
        poll_seconds=settings.delivery_poll_seconds,
        round_interval_seconds=settings.delivery_round_interval_seconds,
        visibility_wait_seconds=settings.rokt_visibility_wait_seconds,
        recheck_seconds=settings.rokt_recheck_seconds,
    )
    app[WORKER] = worker
    if app[SETTINGS].run_delivery:
        await worker.start()
    yield
    await worker.stop()


async def _subscriptions(app: web.Application) -> AsyncIterator[None]:
    from activity.journey.subscribing import Subscriber
    from activity.rokt.client import RoktClient

    settings = app[SETTINGS]
    client = RoktClient(app[HTTP], settings.rokt_api_url, app[TOKENS], app[METRICS])
    app[EXECUTOR].subscriber = Subscriber(
        app[STORE],
        app[SETTINGS_SERVICE],
        client,
        concurrency=settings.subscribe_concurrency,
        timeout=settings.subscribe_timeout_seconds,
    )
    yield


async def _sync(app: web.Application) -> AsyncIterator[None]:
    from activity.sfmc.journeys import JourneyNamer
    from activity.sfmc.sync import SyncWorker
    from activity.sfmc.tokens import SfmcTokens

    settings = app[SETTINGS]
    connections = app[CONNECTIONS]
    tokens = SfmcTokens(connections, app[HTTP])
    worker = SyncWorker(
        app[STORE],
        connections,
        tokens,
        app[HTTP],
        owner=settings.delivery_owner,
        poll_seconds=settings.sync_poll_seconds,
        round_interval_seconds=settings.sync_round_interval_seconds,
        status_delays=settings.sync_status_delays,
        metrics=app[METRICS],
    )
    app[SFMC_TOKENS], app[SYNC_WORKER] = tokens, worker
    app[JOURNEY_NAMER] = JourneyNamer(connections, tokens)
    app[WEBHOOK_INTAKE].on_accept = worker.wake
    if settings.run_delivery:
        await worker.start()
    yield
    await worker.stop()


async def _retention(app: web.Application) -> AsyncIterator[None]:
    pruner = Pruner(app[STORE], app[SETTINGS].retention_days * 86400)
    await pruner.start()
    yield
    await pruner.stop()


def create_app(settings: Settings) -> web.Application:
    # The largest any route takes; request_bodies holds every other route to max_body_bytes.
    max_size = max(settings.max_body_bytes, WEBHOOK_MAX_BODY_BYTES)
    app = web.Application(client_max_size=max_size, middlewares=all_middlewares())
    app[SETTINGS] = settings
    app[KEYRING] = keyring_for(settings.database_url, settings.encryption_keys)
    app[METRICS] = Metrics()
    app[BODY_READS] = SlowReads()
    app[READINESS] = Readiness(settings.readiness_probe_seconds)
    app[SIGN_INS] = TokenBucket(SIGN_INS_PER_SECOND, SIGN_IN_BURST)
    app[ASSET_VERSION] = asset_version()
    app.cleanup_ctx.extend([_database, _http_client, _delivery, _subscriptions, _sync, _retention])
    setup_sessions(app, settings)
    aiohttp_jinja2.setup(app, loader=jinja2.PackageLoader("activity", "templates"), autoescape=True)
    setup_routes(app)
    return app
