"""A real aiohttp server playing Marketing Cloud, for tests, the demo and development.

Route table: `auth.add_routes` (authorize, token, userinfo), the control routes below, and
every module named in ROUTE_MODULES that exists in this package (each has
`add_routes(app)`), so SOAP and data-extension rows plug in without touching this file.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from activity.devtools import serving
from activity.devtools.fake_sfmc import auth
from activity.devtools.fake_sfmc.http import FAKE, fake_of, read_json
from activity.devtools.fake_sfmc.state import (
    DEFAULT_TSSD,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    Failure,
    FakeSfmc,
    User,
)

ROUTE_MODULES = ("soap", "rows", "journeys")


async def recorded_requests(request: web.Request) -> web.StreamResponse:
    """GET /__fake/requests[?endpoint=token]: what the fake received (no client secrets)."""
    endpoint = request.query.get("endpoint")
    calls = fake_of(request).calls(endpoint or None)
    return web.json_response({"requests": [c.as_json() for c in calls]})


async def script_failure(request: web.Request) -> web.StreamResponse:
    """POST /__fake/fail {"endpoint", "status", "count", "body", "delay", "error"}: the next
    `count` requests to `endpoint` fail so ("error" sends /v2/authorize back with error=)."""
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("endpoint"), str):
        return web.json_response({"error": "endpoint is required"}, status=400)
    try:
        failure = Failure(
            status=int(body.get("status", 500)),
            body=body.get("body") if isinstance(body.get("body"), dict) else None,
            delay=float(body.get("delay", 0.0)),
            error=str(body.get("error", "")),
        )
        count = int(body.get("count", 1))
    except (TypeError, ValueError):
        return web.json_response({"error": "status, count and delay are numbers"}, status=400)
    fake_of(request).fail(body["endpoint"], [failure] * count)
    return web.json_response({"scripted": count})


async def add_unit(request: web.Request) -> web.StreamResponse:
    """POST /__fake/units {"mid", "eid", "name", "tssd"}: another business unit to sign in to."""
    body = await read_json(request)
    if not isinstance(body, dict) or not str(body.get("mid", "")).strip():
        return web.json_response({"error": "mid is required"}, status=400)
    fake_of(request).add_unit(
        str(body["mid"]),
        str(body.get("eid", "")),
        str(body.get("name", "")),
        str(body.get("tssd", "") or DEFAULT_TSSD),
    )
    return web.json_response({"units": sorted(fake_of(request).units)})


async def set_user(request: web.Request) -> web.StreamResponse:
    """POST /__fake/user {"sub", "email", "name"}: who the sign-in page signs in."""
    body = await read_json(request)
    if not isinstance(body, dict) or not str(body.get("email", "")).strip():
        return web.json_response({"error": "email is required"}, status=400)
    email = str(body["email"])
    user = User(str(body.get("sub", "") or email), email, str(body.get("name", "") or email))
    fake_of(request).user = user
    return web.json_response({"user": user.email})


async def revoke(request: web.Request) -> web.StreamResponse:
    """POST /__fake/revoke: every refresh token stops working (as if access were removed)."""
    fake_of(request).revoke_refresh_tokens()
    return web.json_response({"revoked": True})


def _add_module_routes(app: web.Application) -> None:
    for name in ROUTE_MODULES:
        qualified = f"{__package__}.{name}"
        if importlib.util.find_spec(qualified) is not None:
            importlib.import_module(qualified).add_routes(app)


# Async upserts may carry up to 32,000 rows: far more than aiohttp's default 1 MB body.
MAX_BODY_BYTES = 64 * 1024 * 1024


def create_fake_sfmc_app(fake: FakeSfmc) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[FAKE] = fake
    app.router.add_get("/__fake/requests", recorded_requests)
    app.router.add_post("/__fake/fail", script_failure)
    app.router.add_post("/__fake/units", add_unit)
    app.router.add_post("/__fake/user", set_user)
    app.router.add_post("/__fake/revoke", revoke)
    auth.add_routes(app)
    _add_module_routes(app)
    return app


async def start_fake_sfmc(
    host: str = "127.0.0.1", port: int = 0, **kw: Any
) -> tuple[FakeSfmc, str, web.AppRunner]:
    """Serve a new FakeSfmc(**kw) on a free port; stop it with `await runner.cleanup()`."""
    fake = FakeSfmc(**kw)
    fake.base_url, runner = await serving.start(create_fake_sfmc_app(fake), host, port)
    return fake, fake.base_url, runner


@asynccontextmanager
async def running_fake_sfmc(**kw: Any) -> AsyncIterator[tuple[FakeSfmc, str]]:
    fake, url, runner = await start_fake_sfmc(**kw)
    try:
        yield fake, url
    finally:
        await runner.cleanup()


def run_fake_sfmc(
    host: str = "127.0.0.1",
    port: int = 8091,
    client_id: str = DEMO_CLIENT_ID,
    client_secret: str = DEMO_CLIENT_SECRET,
) -> None:
    fake = FakeSfmc(client_id, client_secret)
    fake.base_url = f"http://{host}:{port}"

    def announce(_: str) -> None:
        # A log line (JSON once the CLI configured logging), like everything a served process
        # writes.
        logging.getLogger("activity.devtools.fake_sfmc").info(
            "fake Marketing Cloud on %s (client ID %s); point the service at it with "
            "SFMC_AUTH_URL=%s SFMC_CLIENT_ID=%s SFMC_CLIENT_SECRET=...",
            fake.base_url,
            client_id,
            fake.base_url,
            client_id,
            extra={"url": fake.base_url},
        )
        for handler in logging.getLogger().handlers:
            handler.flush()

    web.run_app(create_fake_sfmc_app(fake), host=host, port=port, print=announce)
