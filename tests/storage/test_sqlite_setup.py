"""Opening the SQLite database: its files are owner-only, through the served app."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

from activity import create_app
from activity.devtools.jb import (
    event_arguments,
    execute_payload,
    sign,
    store_demo_settings,
    test_settings,
)
from tests.conftest import ClientFactory


async def test_database_wal_and_shm_files_are_owner_only(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    old = os.umask(0o022)  # the usual umask, under which SQLite alone makes them 0644
    try:
        client = await aiohttp_client(create_app(test_settings(tmp_path, run_delivery=False)))
        await store_demo_settings(client.app, "500000001")
        payload = execute_payload(event_arguments(calendarSubscriptionId=str(uuid.uuid4())))
        resp = await client.post("/execute", data=sign(payload))
        assert resp.status == 200
        assert (await resp.json())["roktStatus"] == "queued"
        database = tmp_path / "activity.db"
        files = [database, *(database.with_name(f"activity.db{s}") for s in ("-wal", "-shm"))]
        modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
        assert modes == {f.name: 0o600 for f in files}
    finally:
        os.umask(old)


async def test_an_existing_world_readable_database_is_tightened(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    database = tmp_path / "activity.db"
    database.touch(mode=0o644)
    database.chmod(0o644)
    client = await aiohttp_client(create_app(test_settings(tmp_path, run_delivery=False)))
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
