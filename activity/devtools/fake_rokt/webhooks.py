"""The fake Rokt sends webhooks (v2) the way Rokt does.

Rokt POSTs a JSON envelope `{eventId, eventType, eventDetails}` to the URL configured in its
dashboard; any 2xx acknowledges, anything else (3xx included, so redirects are not followed) is
a failure, retried a few minutes apart for 30 minutes, then given up
(marketing-cloud-and-webhooks.md section 1, Rokt docs "responding-to-a-webhook" and
"webhooks-best-practices"). The schedule is a parameter so tests can compress those 30 minutes.
The bodies are built in webhook_bodies.py (re-exported here).

Routes on the fake (under /__fake/, never part of Rokt's API):
- POST /__fake/webhooks/register {"url"}: where webhooks go (one URL per account, like the
  dashboard; `accountCode` optional, default every account).
- POST /__fake/subscriptions {accountCode, calendarCode, subscriberExternalId, emailAddress...}:
  creates a subscription and sends Subscribe; 201 with the subscription.
- POST /__fake/subscriptions/{id}/unsubscribe: sends Unsubscribe.
- POST /__fake/webhooks/send [envelope, ...]: sends envelopes as given (duplicates, any order).
- GET /__fake/webhooks: every delivery attempt and each webhook's outcome.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from activity.devtools.fake_rokt.webhook_bodies import (
    details_updated,
    envelope,
    event_removed,
    rokt_time,
    subscribe,
    subscription_details,
    test_event,
    unsubscribe,
)

# Rokt: "retries for 30 minutes, a few minutes apart" (exact spacing unpublished).
ROKT_SCHEDULE: tuple[float, ...] = (60, 120, 180, 240, 300, 300, 300, 300)
CONCURRENCY = 32


@dataclass
class Attempt:
    webhook_id: str
    event_type: str
    attempt: int
    status: int  # 0: no answer (network error)
    at: float


@dataclass
class Outcome:
    webhook_id: str
    event_type: str
    delivered: bool = False
    attempts: int = 0
    gave_up: bool = False


@dataclass
class WebhookSender:
    """Sends webhooks to registered URLs with Rokt's retry behaviour; records everything."""

    schedule: Sequence[float] = ROKT_SCHEDULE
    timeout: float = 30.0
    urls: dict[str, str] = field(default_factory=dict)  # account code ("*" = any) -> URL
    attempts: list[Attempt] = field(default_factory=list)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    _session: aiohttp.ClientSession | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENCY))

    def register(self, url: str, account_code: str = "*") -> None:
        self.urls[account_code] = url

    def url_for(self, account_code: str) -> str | None:
        return self.urls.get(account_code) or self.urls.get("*")

    def send(self, payload: dict[str, Any]) -> None:
        """Deliver in the background (as Rokt does, after the change that fired it)."""
        task = asyncio.create_task(self._deliver(payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, within: float = 60.0) -> None:
        """Wait until every webhook was delivered or given up."""
        async with asyncio.timeout(within):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def _deliver(self, payload: dict[str, Any]) -> None:
        webhook_id = str(payload.get("eventId", ""))
        event_type = str(payload.get("eventType", ""))
        details = payload.get("eventDetails") or {}
        url = self.url_for(str(details.get("accountCode", "")))
        outcome = Outcome(webhook_id, event_type)
        self.outcomes.setdefault(webhook_id, outcome)
        outcome = self.outcomes[webhook_id]
        if url is None:
            outcome.gave_up = True
            return
        for n, wait in enumerate([0.0, *self.schedule], start=1):
            if wait:
                await asyncio.sleep(wait)
            status = await self._post(url, payload)
            outcome.attempts += 1
            self.attempts.append(Attempt(webhook_id, event_type, n, status, time.time()))
            if 200 <= status <= 299:
                outcome.delivered = True
                return
        outcome.gave_up = True

    async def _post(self, url: str, payload: dict[str, Any]) -> int:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        try:
            async with (
                self._slots,
                self._session.post(url, json=payload, allow_redirects=False) as resp,
            ):
                await resp.read()
                return resp.status
        except (aiohttp.ClientError, TimeoutError):
            return 0

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def create_subscription(self, body: dict[str, Any]) -> dict[str, Any]:
        account_code = str(body.get("accountCode") or "demo")
        sub_id = str(uuid.uuid4())
        extra = {k: v for k, v in body.items() if k in ("utmSource", "utmCampaign")}
        payload = subscribe(
            account_code,
            sub_id,
            calendar_code=str(body.get("calendarCode") or "fake-calendar"),
            external_id=str(body.get("subscriberExternalId") or ""),
            email=str(body.get("emailAddress") or ""),
            **extra,
        )
        self.subscriptions[sub_id] = {"accountCode": account_code, **payload["eventDetails"]}
        self.send(payload)
        return {"calendarSubscriptionId": sub_id, "webhookId": payload["eventId"]}


SENDER = web.AppKey("fake_rokt_webhooks", WebhookSender)


def _json_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="a JSON object is required")
    return data


async def _register(request: web.Request) -> web.Response:
    body = _json_object(await request.json())
    url = body.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise web.HTTPBadRequest(text="url must be an http(s) URL")
    request.app[SENDER].register(url, str(body.get("accountCode") or "*"))
    return web.json_response({"registered": url})


async def _create(request: web.Request) -> web.Response:
    created = request.app[SENDER].create_subscription(_json_object(await request.json()))
    return web.json_response(created, status=201)


async def _unsubscribe(request: web.Request) -> web.Response:
    sender = request.app[SENDER]
    sub_id = request.match_info["subscription_id"]
    known = sender.subscriptions.get(sub_id)
    if known is None:
        raise web.HTTPNotFound(text="no such subscription")
    payload = unsubscribe(known["accountCode"], sub_id)
    sender.send(payload)
    return web.json_response({"webhookId": payload["eventId"]})


async def _send(request: web.Request) -> web.Response:
    payloads = await request.json()
    if not isinstance(payloads, list):
        payloads = [payloads]
    for payload in payloads:
        request.app[SENDER].send(_json_object(payload))
    return web.json_response({"queued": len(payloads)})


async def _report(request: web.Request) -> web.Response:
    sender = request.app[SENDER]
    return web.json_response(
        {
            "pending": sender.pending,
            "attempts": [asdict(a) for a in sender.attempts],
            "outcomes": [asdict(o) for o in sender.outcomes.values()],
        }
    )


def add_webhook_routes(app: web.Application, sender: WebhookSender | None = None) -> None:
    app[SENDER] = sender or WebhookSender()

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        yield
        await app[SENDER].close()

    app.cleanup_ctx.append(lifetime)
    app.router.add_post("/__fake/webhooks/register", _register)
    app.router.add_post("/__fake/webhooks/send", _send)
    app.router.add_get("/__fake/webhooks", _report)
    app.router.add_post("/__fake/subscriptions", _create)
    app.router.add_post("/__fake/subscriptions/{subscription_id}/unsubscribe", _unsubscribe)


__all__ = [
    "ROKT_SCHEDULE",
    "SENDER",
    "WebhookSender",
    "add_webhook_routes",
    "details_updated",
    "envelope",
    "event_removed",
    "rokt_time",
    "subscribe",
    "subscription_details",
    "test_event",
    "unsubscribe",
]
