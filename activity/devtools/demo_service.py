"""What the demo runs: the fake Rokt and the service (SQLite in a working directory) on free
loopback ports, with the demo's business unit configured and its webhook URL registered."""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from cryptography.fernet import Fernet

from activity.admin.settings_service import Actor
from activity.app import create_app
from activity.appkeys import SETTINGS_SERVICE, WEBHOOK_URLS
from activity.config import Settings
from activity.devtools.demo_contacts import ACCOUNT_CODE, CLIENT_ID, EID, MID
from activity.devtools.fake_rokt import FakeRokt, start_fake_rokt
from activity.devtools.fake_rokt.webhooks import WebhookSender
from activity.ops.bodies import SERVER_OPTIONS

WEBHOOK_RETRIES = (0.2, 0.5, 1.0)  # Rokt's 30 minutes of retries, compressed for the demo


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass(frozen=True)
class DemoService:
    app: web.Application
    url: str
    jwt_secret: str = field(repr=False)
    fake: FakeRokt
    webhooks: WebhookSender


@asynccontextmanager
async def running_service(workdir: Path) -> AsyncIterator[DemoService]:
    """The fake Rokt and the service on free loopback ports, with a business unit configured."""
    rokt_secret = secrets.token_urlsafe(24)
    webhooks = WebhookSender(schedule=WEBHOOK_RETRIES)
    fake, rokt_url, rokt_runner = await start_fake_rokt(
        client_id=CLIENT_ID, client_secret=rokt_secret, webhooks=webhooks
    )
    sock = free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        public_url=url,
        jwt_secret=secrets.token_urlsafe(32),
        database_url=f"sqlite:///{workdir / 'activity.db'}",
        encryption_keys=(Fernet.generate_key().decode(),),
        rokt_api_url=rokt_url,
    )
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None, **SERVER_OPTIONS)
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
        await app[SETTINGS_SERVICE].save(
            mid=MID,
            account_code=ACCOUNT_CODE,
            client_id=CLIENT_ID,
            client_secret=rokt_secret,
            enterprise_id=EID,
            actor=Actor(user_id="demo"),
        )
        # The business unit's webhook URL, pasted into the fake Rokt's "dashboard".
        webhooks.register(await app[WEBHOOK_URLS].url_for(MID))
        yield DemoService(app, url, settings.jwt_secret, fake, webhooks)
    finally:
        await runner.cleanup()
        await rokt_runner.cleanup()
        sock.close()
