"""Typed application keys: all state lives on the app, declared here once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import ClientSession, web

from activity.config import Settings
from activity.crypto import Keyring
from activity.ops.rate import TokenBucket
from activity.storage.base import Store

if TYPE_CHECKING:
    from activity.admin.settings_service import SettingsService
    from activity.journey.execution import Executor
    from activity.ops.metrics import Metrics
    from activity.ops.readiness import Readiness
    from activity.rokt.calendar_events import CalendarEvents
    from activity.rokt.delivery import DeliveryWorker
    from activity.rokt.token_cache import TokenCache
    from activity.rokt.webhook_intake import WebhookIntake
    from activity.rokt.webhook_urls import WebhookUrls
    from activity.sfmc.connections import ConnectionService
    from activity.sfmc.journeys import JourneyNamer
    from activity.sfmc.sync import SyncWorker
    from activity.sfmc.tokens import SfmcTokens

SETTINGS = web.AppKey("settings", Settings)
KEYRING = web.AppKey("keyring", Keyring)
STORE = web.AppKey("store", Store)
HTTP = web.AppKey("http", ClientSession)
SETTINGS_SERVICE: web.AppKey[SettingsService] = web.AppKey("settings_service")
TOKENS: web.AppKey[TokenCache] = web.AppKey("tokens")
CALENDAR_EVENTS: web.AppKey[CalendarEvents] = web.AppKey("calendar_events")
WORKER: web.AppKey[DeliveryWorker] = web.AppKey("worker")
EXECUTOR: web.AppKey[Executor] = web.AppKey("executor")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
READINESS: web.AppKey[Readiness] = web.AppKey("readiness")
WEBHOOK_URLS: web.AppKey[WebhookUrls] = web.AppKey("webhook_urls")
WEBHOOK_INTAKE: web.AppKey[WebhookIntake] = web.AppKey("webhook_intake")
CONNECTIONS: web.AppKey[ConnectionService] = web.AppKey("sfmc_connections")
SFMC_TOKENS: web.AppKey[SfmcTokens] = web.AppKey("sfmc_tokens")
SYNC_WORKER: web.AppKey[SyncWorker] = web.AppKey("sync_worker")
JOURNEY_NAMER: web.AppKey[JourneyNamer] = web.AppKey("journey_namer")
ASSET_VERSION = web.AppKey("asset_version", str)
# Sign-ins started or finished per process: each writes to the database (sso_oauth.py).
SIGN_INS = web.AppKey("sign_ins", TokenBucket)
