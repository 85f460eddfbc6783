from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from activity import create_app
from activity.appkeys import STORE
from activity.devtools.jb import (
    event_arguments,
    execute_payload,
    sign,
    store_demo_settings,
    test_settings,
)
from activity.storage.sqlite import SQLiteStore
from tests.conftest import ClientFactory
from tests.pg import ADMIN_URL, fresh_database


async def test_healthz_and_readyz(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert (await resp.json())["status"] == "ready"


async def test_readyz_fails_when_database_is_gone(client: TestClient) -> None:
    await client.app[STORE].close()
    resp = await client.get("/readyz")
    assert resp.status == 503


# --- /readyz needs a database that takes writes ---------------------------------------------


async def sqlite_pragma(client: TestClient, pragma: str) -> Any:
    store = client.app[STORE]
    assert isinstance(store, SQLiteStore)
    row = await store._run(lambda: store._db.execute(pragma).fetchone())
    return tuple(row) if row is not None else None


async def test_readyz_fails_while_the_database_is_read_only(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    settings = test_settings(tmp_path, run_delivery=False, readiness_probe_seconds=0)
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/readyz")).status == 200
    await sqlite_pragma(client, "PRAGMA query_only = ON")  # SELECT 1 still works
    resp = await client.get("/readyz")
    assert resp.status == 503
    assert "cannot take a write" in (await resp.json())["status"]
    await sqlite_pragma(client, "PRAGMA query_only = OFF")
    assert (await client.get("/readyz")).status == 200


async def test_readyz_fails_while_executes_cannot_be_stored_on_a_full_disk(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    settings = test_settings(tmp_path, run_delivery=False, readiness_probe_seconds=0)
    client = await aiohttp_client(create_app(settings))
    await store_demo_settings(client.app)
    (pages,) = await sqlite_pragma(client, "PRAGMA page_count")
    await sqlite_pragma(client, f"PRAGMA max_page_count = {pages}")  # the disk is full
    statuses = []
    for i in range(50):  # until new rows need a page the database may no longer take
        args = event_arguments(calendarSubscriptionId=str(uuid.uuid4()), title=f"T{i}" * 100)
        resp = await client.post("/execute", data=sign(execute_payload(args)))
        statuses.append(resp.status)
        if resp.status == 503:
            break
    assert statuses[-1] == 503
    assert (await client.get("/readyz")).status == 503
    await sqlite_pragma(client, "PRAGMA max_page_count = 1073741823")
    args = event_arguments(calendarSubscriptionId=str(uuid.uuid4()))
    assert (await client.post("/execute", data=sign(execute_payload(args)))).status == 200
    assert (await client.get("/readyz")).status == 200


async def test_the_readiness_probe_writes_at_most_once_per_interval(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    settings = test_settings(tmp_path, run_delivery=False, readiness_probe_seconds=60)
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/readyz")).status == 200
    (first,) = await sqlite_pragma(client, "SELECT at FROM readiness_probe")
    for _ in range(20):
        assert (await client.get("/readyz")).status == 200
    assert await sqlite_pragma(client, "SELECT at FROM readiness_probe") == (first,)


async def test_readyz_fails_while_postgresql_is_read_only(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    async with fresh_database() as url:
        settings = test_settings(
            tmp_path, run_delivery=False, readiness_probe_seconds=0, database_url=url
        )
        client = await aiohttp_client(create_app(settings))
        assert (await client.get("/readyz")).status == 200
        name = url.rsplit("/", 1)[1]
        admin = await asyncpg.connect(ADMIN_URL)
        try:
            await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            await client.app[STORE]._pool.expire_connections()  # type: ignore[attr-defined]
            resp = await client.get("/readyz")
            assert resp.status == 503
            await admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
            await client.app[STORE]._pool.expire_connections()  # type: ignore[attr-defined]
            assert (await client.get("/readyz")).status == 200
        finally:
            await admin.close()
        await client.close()
