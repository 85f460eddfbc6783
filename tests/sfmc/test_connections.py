"""Connections: stored encrypted at sign-in, refreshed with rotation, invalid_grant marked."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from cryptography.fernet import Fernet

from activity.config import Settings
from activity.crypto import Keyring
from activity.devtools.fake_sfmc import FakeSfmc
from activity.devtools.jb import test_settings
from activity.errors import SfmcError, SfmcGrantRefused
from activity.sfmc import oauth
from activity.sfmc.connections import ConnectionService
from activity.storage.models import CLIENT_CREDENTIALS_GRANT, SfmcConnection
from activity.storage.sqlite import SQLiteStore
from tests.devtools.test_fake_sfmc import REDIRECT, authorize

CID, SECRET = "sfmc-cid", "sfmc-csecret"


@pytest.fixture
def keyring() -> Keyring:
    return Keyring([Fernet.generate_key().decode()])


@dataclass
class Rig:
    """A connection service over a fresh store, signing in at the fake Marketing Cloud."""

    fake: FakeSfmc
    url: str
    store: SQLiteStore
    keyring: Keyring
    settings: Settings
    service: ConnectionService


@pytest.fixture
def rig(sfmc: tuple[FakeSfmc, str], store: SQLiteStore, keyring: Keyring, tmp_path: Path) -> Rig:
    fake, url = sfmc
    settings = test_settings(
        tmp_path, sfmc_client_id=CID, sfmc_client_secret=SECRET, sfmc_auth_url=url
    )
    return Rig(fake, url, store, keyring, settings, ConnectionService(store, keyring, settings))


async def signed_in(
    http: aiohttp.ClientSession, url: str, service: ConnectionService
) -> oauth.TokenSet:
    code = (await authorize(http, url))["code"]
    tokens = await oauth.exchange_code(
        http, url, client_id=CID, client_secret=SECRET, code=code, redirect_uri=REDIRECT
    )
    info = await oauth.userinfo(http, url, tokens.access_token)
    await service.save_sign_in(info, tokens, tssd="fake-tenant", auth_url=url)
    return tokens


async def test_sign_in_stores_the_refresh_token_encrypted(
    http: aiohttp.ClientSession, rig: Rig, tmp_path: Path
) -> None:
    url, store, keyring, service = rig.url, rig.store, rig.keyring, rig.service
    tokens = await signed_in(http, url, service)
    stored = await store.get_sfmc_connection("100000001")
    assert stored is not None
    assert tokens.refresh_token.encode() not in stored.secret_token
    assert keyring.decrypt(stored.secret_token) == tokens.refresh_token
    assert (stored.user_email, stored.tssd, stored.rest_instance_url) == (
        "admin@example.com",
        "fake-tenant",
        f"{url}/",
    )
    # Nowhere in the database file in plain text either.
    await store.close()
    files = await asyncio.to_thread(lambda: [p.read_bytes() for p in tmp_path.glob("activity.db*")])
    assert files and all(tokens.refresh_token.encode() not in data for data in files)


async def test_refresh_rotates_the_stored_token(http: aiohttp.ClientSession, rig: Rig) -> None:
    fake, url, store, keyring, service = rig.fake, rig.url, rig.store, rig.keyring, rig.service
    first = await signed_in(http, url, service)
    tokens = await service.access_token(http, "100000001")
    stored = await store.get_sfmc_connection("100000001")
    assert stored is not None
    assert keyring.decrypt(stored.secret_token) == tokens.refresh_token != first.refresh_token
    again = await asyncio.gather(*(service.access_token(http, "100000001") for _ in range(3)))
    assert len({t.access_token for t in again}) == 3, "serialised: each refresh succeeded"
    assert len(fake.calls("token", 400)) == 0


async def test_invalid_grant_marks_the_connection(http: aiohttp.ClientSession, rig: Rig) -> None:
    fake, url, store, service = rig.fake, rig.url, rig.store, rig.service
    await signed_in(http, url, service)
    fake.revoke_refresh_tokens()
    with pytest.raises(SfmcGrantRefused):
        await service.access_token(http, "100000001")
    stored = await store.get_sfmc_connection("100000001")
    assert stored is not None and stored.needs_signin
    calls = len(fake.calls("token"))
    with pytest.raises(SfmcGrantRefused):
        await service.access_token(http, "100000001")
    assert len(fake.calls("token")) == calls, "no more calls until someone signs in again"
    await signed_in(http, url, service)
    assert (await service.access_token(http, "100000001")).access_token


async def test_another_instance_rotating_first_is_not_a_lost_sign_in(
    http: aiohttp.ClientSession, rig: Rig
) -> None:
    url, store = rig.url, rig.store
    one, two = (ConnectionService(store, rig.keyring, rig.settings) for _ in range(2))
    await signed_in(http, url, one)
    got = await asyncio.gather(
        one.access_token(http, "100000001"), two.access_token(http, "100000001")
    )
    assert all(t.access_token for t in got)
    stored = await store.get_sfmc_connection("100000001")
    assert stored is not None and not stored.needs_signin


async def test_client_credentials_connections_and_no_connection(
    http: aiohttp.ClientSession, rig: Rig
) -> None:
    url, store, keyring, service = rig.url, rig.store, rig.keyring, rig.service
    with pytest.raises(SfmcError) as caught:
        await service.access_token(http, "100000002")
    assert caught.value.reason == "not_connected"
    await store.put_sfmc_connection(
        SfmcConnection(
            mid="100000002",
            grant_type=CLIENT_CREDENTIALS_GRANT,
            client_id=CID,
            secret_token=keyring.encrypt(SECRET),
            auth_url=url,
            connected_at=1.0,
            updated_at=1.0,
        )
    )
    tokens = await service.access_token(http, "100000002")
    assert (await oauth.userinfo(http, url, tokens.access_token)).mid == "100000002"
    assert await service.disconnect("100000002") is True
    assert await service.get("100000002") is None
