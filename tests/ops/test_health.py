from __future__ import annotations

from aiohttp.test_utils import TestClient

from activity.appkeys import STORE


async def test_healthz_and_readyz(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert (await resp.json())["status"] == "ready"


async def test_readyz_fails_when_database_is_gone(client: TestClient) -> None:
    await client.app[STORE].close()
    resp = await client.get("/readyz")
    assert resp.status == 503
