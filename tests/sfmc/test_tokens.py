"""Access tokens per business unit: reused until shortly before expiry, renewed once on 401."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography.fernet import Fernet

from activity.crypto import Keyring
from activity.devtools.fake_sfmc import FakeSfmc
from activity.devtools.jb import test_settings
from activity.sfmc import client_credentials
from activity.sfmc.connections import ConnectionService
from activity.sfmc.tokens import EARLY_SECONDS, Access, SfmcTokens, SfmcUnauthorized
from activity.storage.sqlite import SQLiteStore
from tests.clock import Clock
from tests.sfmc_support import MID


@pytest.fixture
async def tokens(
    tmp_path: Path, http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]
) -> AsyncIterator[tuple[SfmcTokens, Clock]]:
    store = SQLiteStore(tmp_path / "a.db")
    await store.open()
    keyring = Keyring([Fernet.generate_key().decode()])
    await client_credentials.connect(
        store, keyring, http, mid=MID, client_id="sfmc-cid", client_secret="sfmc-csecret",
        auth_url=sfmc[1],
    )  # fmt: skip
    clock = Clock()
    connections = ConnectionService(store, keyring, test_settings(tmp_path))
    yield SfmcTokens(connections, http, clock=clock), clock
    await store.close()


async def test_one_token_until_shortly_before_it_expires(
    tokens: tuple[SfmcTokens, Clock], sfmc: tuple[FakeSfmc, str]
) -> None:
    cache, clock = tokens
    fake, url = sfmc
    first = await cache.get(MID)
    assert (first.rest_url, first.soap_url) == (f"{url}/", f"{url}/")
    clock.now += fake.access_ttl - EARLY_SECONDS - 1
    assert await cache.get(MID) is first
    clock.now += 2
    second = await cache.get(MID)
    assert second.token != first.token
    assert cache.grants == 2
    assert len(fake.calls("token")) == 3  # and one when `sfmc connect` checked the secret


async def test_a_401_renews_the_token_once(tokens: tuple[SfmcTokens, Clock]) -> None:
    cache, _ = tokens
    seen: list[str] = []

    async def refused_once(access: Access) -> str:
        seen.append(access.token)
        if len(seen) == 1:
            raise SfmcUnauthorized("401")
        return "done"

    assert await cache.call(MID, refused_once) == "done"
    assert len(set(seen)) == 2 and cache.grants == 2

    async def always_refused(access: Access) -> str:
        raise SfmcUnauthorized("401")

    with pytest.raises(SfmcUnauthorized):
        await cache.call(MID, always_refused)
    assert cache.grants == 3  # renewed once, not in a loop
