"""Fixtures of the Rokt tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography.fernet import Fernet

from activity.admin.settings_service import Actor, SettingsService
from activity.crypto import Keyring
from activity.devtools.fake_rokt import start_fake_rokt
from activity.ops.metrics import Metrics
from activity.storage.sqlite import SQLiteStore
from tests.rokt.delivery_env import MID, OTHER_MID, Clock, Env


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    fake, url, runner = await start_fake_rokt(client_id="cid", client_secret="csecret")
    fake.add_client("other-cid", "other-secret")
    store = SQLiteStore(tmp_path / "activity.db")
    await store.open()
    service = SettingsService(store, Keyring([Fernet.generate_key().decode()]))
    await service.save(
        mid=MID, account_code="acme", client_id="cid", client_secret="csecret", actor=Actor()
    )
    await service.save(
        mid=OTHER_MID,
        account_code="beta",
        client_id="other-cid",
        client_secret="other-secret",
        actor=Actor(),
    )
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.5)) as http:
        yield Env(fake, url, store, service, http, Metrics(), Clock())
    await store.close()
    await runner.cleanup()
