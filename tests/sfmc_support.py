"""Helpers for the Marketing Cloud tests: an access token from the fake, an app syncing to it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.fernet import Fernet

from activity import create_app
from activity.appkeys import HTTP, KEYRING, STORE, WEBHOOK_URLS
from activity.config import Settings
from activity.crypto import Keyring
from activity.devtools.jb import store_demo_settings, test_settings
from activity.sfmc import client_credentials, oauth
from activity.sfmc.connections import ConnectionService
from activity.sfmc.tokens import Access
from activity.storage.base import Store
from activity.storage.sqlite import SQLiteStore

MID = "100000001"


async def access_for(http: aiohttp.ClientSession, url: str, mid: str = MID) -> Access:
    tokens = await oauth.client_credentials(
        http, url, client_id="sfmc-cid", client_secret="sfmc-csecret", account_id=mid
    )
    return Access(mid, tokens.access_token, f"{url}/", f"{url}/", time.monotonic() + 600)


async def connect(store: Store, keyring: Keyring, http: aiohttp.ClientSession, url: str) -> None:
    """A client-credentials connection for MID to the fake at `url`."""
    await client_credentials.connect(
        store, keyring, http, mid=MID, client_id="sfmc-cid", client_secret="sfmc-csecret",
        auth_url=url,
    )  # fmt: skip


async def connected_store(
    tmp_path: Path, http: aiohttp.ClientSession, url: str
) -> tuple[SQLiteStore, Keyring, ConnectionService]:
    """An open SQLite store with MID connected to the fake at `url`; the caller closes it."""
    store = SQLiteStore(tmp_path / "a.db")
    await store.open()
    keyring = Keyring([Fernet.generate_key().decode()])
    await connect(store, keyring, http, url)
    return store, keyring, ConnectionService(store, keyring, test_settings(tmp_path))


@dataclass(frozen=True)
class SyncingApp:
    settings: Settings
    app: web.Application
    server: TestServer
    webhook_url: str  # the business unit's Rokt webhook URL, on the test server


async def syncing_app(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    tmp_path: Path,
    sfmc_url: str,
    **overrides: Any,
) -> SyncingApp:
    """The app with the demo Rokt settings, connected to the fake Marketing Cloud with client
    credentials, its sync worker polling fast."""
    settings = test_settings(
        tmp_path,
        sfmc_client_id="sfmc-cid",
        sfmc_client_secret="sfmc-csecret",
        sfmc_auth_url=sfmc_url,
        sync_round_interval_seconds=0.2,
        sync_poll_seconds=0.05,
        sync_status_delays=(0.0, 0.05, 0.1, 0.2),
        **overrides,
    )
    app = create_app(settings)
    server = await aiohttp_server(app)
    await store_demo_settings(app, mid=MID)  # Rokt account code "acme"
    await connect(app[STORE], app[KEYRING], app[HTTP], sfmc_url)
    url = await app[WEBHOOK_URLS].url_for(MID)
    webhook_url = str(server.make_url(url.removeprefix(settings.public_base)))
    return SyncingApp(settings, app, server, webhook_url)
