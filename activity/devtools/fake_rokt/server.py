"""A real aiohttp server speaking the Rokt Calendar API, for tests, the demo and development.

Every request is recorded on the `FakeRokt` (see `state.py`); failures are scripted there.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from activity.devtools import serving
from activity.devtools.fake_rokt import calendar_book, calendars, rules, subscribe_routes
from activity.devtools.fake_rokt.answers import Answer, error_body
from activity.devtools.fake_rokt.inspect import add_inspection_routes
from activity.devtools.fake_rokt.record import RecordedRequest
from activity.devtools.fake_rokt.state import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, FakeRokt
from activity.devtools.fake_rokt.steering import Step
from activity.devtools.fake_rokt.webhooks import SENDER, WebhookSender, add_webhook_routes

FAKE = web.AppKey("fake_rokt", FakeRokt)

Action = Callable[[web.Request, FakeRokt, Any], Answer]


def _scripted(step: Step) -> web.Response:
    status = step.status or 500
    body = step.body if step.body is not None else error_body(status, [("Scripted", "scripted")])
    headers = {"Retry-After": step.retry_after} if step.retry_after is not None else None
    return web.json_response(body, status=status, headers=headers)


async def _read_json(request: web.Request) -> Any:
    if not request.body_exists:
        return None
    try:
        return json.loads(await request.text())
    except ValueError:
        return ...  # marks a body that is not JSON


async def _handle(
    request: web.Request, endpoint: str, body: Any, answer: Callable[[], web.Response]
) -> web.StreamResponse:
    """Count, apply the script, answer and record one request, then delay the answer.

    Rokt acts on a request before its (slow) answer leaves: an answer later than the client's
    timeout, or a connection dropped afterwards, has still changed the state and is recorded.
    """
    fake = request.app[FAKE]
    fake.in_flight += 1
    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
    at = fake.clock()
    try:
        step = fake.next_step(endpoint, request.path)
        delay = fake.delay + (step.delay if step else 0.0) + fake.latency()
        if step is not None and step.status == 0:
            response = web.Response(status=599)
        elif step is not None and step.status is not None:
            response = _scripted(step)
        else:
            response = answer()
        recorded = None if body is ... else body
        fake.record(
            RecordedRequest(
                endpoint,
                request.method,
                request.path,
                recorded,
                at,
                response.status,
                dict(request.query),
                delay,
            )
        )
        if delay > 0:
            await asyncio.sleep(delay)
        if step is not None and step.status == 0 and request.transport is not None:
            request.transport.abort()
        return response
    finally:
        fake.in_flight -= 1


def _bearer(request: web.Request, fake: FakeRokt) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and fake.token_valid(token) else None


def _refusal(request: web.Request, fake: FakeRokt, token: str, body: Any) -> web.Response | None:
    """The stricter rules that concern the request rather than its fields (rules.py)."""
    if request.body_exists:
        problem = rules.content_type_problem(request.headers.get("Content-Type", ""))
        if problem is not None:
            return web.json_response(error_body(415, [problem]), status=415)
    account = request.match_info.get("account")
    if account is not None and fake.account_refused(token, account):
        # Seed 001 line 21 / seed 002 line 86: credentials belong to one Rokt account; another
        # account's code is not found for this client.
        return web.json_response(
            error_body(404, [("AccountNotFound", f"account {account} not found")]), status=404
        )
    return None


def api(endpoint: str, action: Action) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        fake = request.app[FAKE]
        body = await _read_json(request)

        def answer() -> web.Response:
            token = _bearer(request, fake)
            if token is None:
                return web.json_response(
                    {"message": "Authorization has been denied for this request."},
                    status=401,
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            refused = _refusal(request, fake, token, body)
            if refused is not None:
                return refused
            if body is ...:
                return web.json_response(
                    error_body(400, [("InvalidJson", "the body is not JSON")]), status=400
                )
            status, payload = action(request, fake, body)
            return web.json_response(payload, status=status)

        return await _handle(request, endpoint, body, answer)

    return handler


def _credentials(request: web.Request, form: Any) -> tuple[str, str]:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        return client_id, secret
    return str(form.get("client_id", "")), str(form.get("client_secret", ""))


async def token(request: web.Request) -> web.StreamResponse:
    fake = request.app[FAKE]
    form = await request.post()
    grant_type = str(form.get("grant_type", ""))
    client_id, secret = _credentials(request, form)

    def answer() -> web.Response:
        if fake.token_endpoint_down:
            return web.json_response({"error": "temporarily_unavailable"}, status=503)
        if grant_type != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        access_token = fake.grant(client_id, secret)
        if access_token is None:
            return web.json_response(
                {"error": "invalid_client"},
                status=401,
                headers={"WWW-Authenticate": 'Basic realm="oauth2"'},
            )
        ttl = fake.token_ttl
        return web.json_response(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": int(ttl) if ttl == int(ttl) else ttl,
            }
        )

    # The record never holds the secret.
    recorded = {"grant_type": grant_type, "client_id": client_id}
    return await _handle(request, "token", recorded, answer)


def _create(request: web.Request, fake: FakeRokt, body: Any) -> Answer:
    return fake.create(request.match_info["account"], body)


def _update(request: web.Request, fake: FakeRokt, body: Any) -> Answer:
    return fake.update(request.match_info["account"], body)


def _cancel(request: web.Request, fake: FakeRokt, body: Any) -> Answer:
    return fake.cancel(request.match_info["account"], request.match_info["event_id"])


def _remove(request: web.Request, fake: FakeRokt, body: Any) -> Answer:
    info = request.match_info
    return fake.remove(info["account"], info["subscription_id"], info["event_id"])


def _subscription(request: web.Request, fake: FakeRokt, body: Any) -> Answer:
    client = fake.token_clients.get(_bearer(request, fake) or "", "")
    return fake.subscription(request.match_info["subscription_id"], client)


def create_fake_rokt_app(fake: FakeRokt, webhooks: WebhookSender | None = None) -> web.Application:
    app = web.Application()
    app[FAKE] = fake
    add_webhook_routes(app, webhooks)
    fake.subscribe.listeners.append(subscribe_routes.webhook_listener(app[SENDER]))
    app.router.add_post("/oauth2/token", token)
    app.router.add_post("/v1/subscriptionevent/{account}/update", api("update", _update))
    app.router.add_post("/v1/subscriptionevent/{account}", api("create", _create))
    app.router.add_delete("/v1/subscriptionevent/{account}/{event_id}", api("cancel", _cancel))
    app.router.add_delete(
        "/v2/subscription/{account}/{subscription_id}/subscriptionevent/{event_id}",
        api("remove", _remove),
    )
    app.router.add_get("/v1/subscription/{subscription_id}", api("subscription", _subscription))
    calendars.add_routes(app, api)
    subscribe_routes.add_routes(app, api, lambda request: request.app[FAKE])
    add_inspection_routes(app, lambda request: request.app[FAKE])
    return app


async def start_fake_rokt(
    host: str = "127.0.0.1", port: int = 0, **kw: Any
) -> tuple[FakeRokt, str, web.AppRunner]:
    """Serve a new FakeRokt(**kw) on a free port; stop it with `await runner.cleanup()`.

    `webhooks` (a WebhookSender) is how the fake sends Rokt webhooks, e.g. with a compressed
    retry schedule; by default one with Rokt's."""
    webhooks = kw.pop("webhooks", None)
    fake = FakeRokt(**kw)
    url, runner = await serving.start(create_fake_rokt_app(fake, webhooks), host, port)
    return fake, url, runner


@asynccontextmanager
async def running_fake_rokt(**kw: Any) -> AsyncIterator[tuple[FakeRokt, str]]:
    fake, url, runner = await start_fake_rokt(**kw)
    try:
        yield fake, url
    finally:
        await runner.cleanup()


def run_fake_rokt(
    host: str = "127.0.0.1",
    port: int = 8090,
    client_id: str = DEMO_CLIENT_ID,
    client_secret: str = DEMO_CLIENT_SECRET,
    token_ttl: float = 300.0,
    setup: Callable[[FakeRokt], None] | None = None,
) -> None:
    fake = FakeRokt(client_id, client_secret, token_ttl)
    fake.calendars.add(
        calendar_book.ANY_ACCOUNT, calendar_book.DEMO_CALENDAR_ID, calendar_book.DEMO_CALENDAR_CODE
    )
    if setup is not None:
        setup(fake)
    url = f"http://{host}:{port}"

    def announce(_: str) -> None:
        # A log line (JSON once the CLI configured logging), like everything a served process
        # writes; the URL is what to set ROKT_API_URL to.
        logging.getLogger("activity.devtools.fake_rokt").info(
            "fake Rokt Calendar API on %s (client ID %s); point the service at it with "
            "ROKT_API_URL=%s",
            url,
            client_id,
            url,
            extra={"url": url},
        )
        for handler in logging.getLogger().handlers:
            handler.flush()

    web.run_app(create_fake_rokt_app(fake), host=host, port=port, print=announce, access_log=None)
