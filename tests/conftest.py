from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from activity import create_app
from activity.config import Settings
from activity.devtools.fake_rokt import FakeRokt, start_fake_rokt
from activity.devtools.fake_sfmc import FakeSfmc, start_fake_sfmc
from activity.devtools.jb import test_settings
from activity.storage.sqlite import SQLiteStore

ClientFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def rokt() -> AsyncIterator[tuple[FakeRokt, str]]:
    """A fake Rokt over real HTTP whose one client is cid/csecret."""
    fake, url, runner = await start_fake_rokt(client_id="cid", client_secret="csecret")
    yield fake, url
    await runner.cleanup()


@pytest.fixture
async def sfmc() -> AsyncIterator[tuple[FakeSfmc, str]]:
    """A fake Marketing Cloud over real HTTP whose one client is sfmc-cid/sfmc-csecret, with
    business units 100000001 and 100000002 (enterprise 100000000)."""
    fake, url, runner = await start_fake_sfmc(client_id="sfmc-cid", client_secret="sfmc-csecret")
    yield fake, url
    await runner.cleanup()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    """An open, empty SQLite store in the test's own directory."""
    backend = SQLiteStore(tmp_path / "activity.db")
    await backend.open()
    yield backend
    await backend.close()


@pytest.fixture
def store(sqlite_store: SQLiteStore) -> SQLiteStore:
    """The store of tests that need one, SQLite; tests/storage runs its contract tests on every
    backend with its own `store`."""
    return sqlite_store


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return test_settings(tmp_path)


@pytest.fixture
async def client(aiohttp_client: ClientFactory, settings: Settings) -> TestClient:
    return await aiohttp_client(create_app(settings))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """This session's own PostgreSQL database (see tests/pg.py); dropped at the end."""
    from tests.pg import session_database

    with session_database() as url:
        yield url
