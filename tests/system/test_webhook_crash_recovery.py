"""SIGKILL the served process between accepting webhooks and syncing them: after a restart
every subscription's row reaches Marketing Cloud, once, in its newest state."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from activity.devtools.fake_rokt import webhooks as rokt
from activity.devtools.fake_rokt.server import start_fake_rokt
from activity.devtools.fake_sfmc import Failure, start_fake_sfmc
from activity.devtools.subscription_story import check_rows, read_rows, story
from tests.service_process import Service, wait_until

pytestmark = pytest.mark.slow
MID = "100000001"


async def cli(service: Service, *args: str, stdin: str = "") -> str:
    """The CLI as a child process; the fakes share this event loop, so never block it."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "activity", *args, env=service.env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_killed_between_accept_and_sync_then_restarted_loses_nothing(
    tmp_path: Path,
) -> None:
    sfmc, sfmc_url, sfmc_runner = await start_fake_sfmc(
        client_id="sfmc-cid", client_secret="sfmc-csecret"
    )
    sender = rokt.WebhookSender(schedule=(0.1, 0.2, 0.5))
    _, rokt_url, rokt_runner = await start_fake_rokt(webhooks=sender)
    service = Service(
        rokt_url,
        database_url=f"sqlite:///{tmp_path / 'crash.db'}",
        SFMC_CLIENT_ID="sfmc-cid",
        SFMC_CLIENT_SECRET="sfmc-csecret",
        SFMC_AUTH_URL=sfmc_url,
    )
    try:
        await service.configure(MID)  # Rokt account code "acme"
        await cli(service, "sfmc", "connect", "--mid", MID, "--client-id", "sfmc-cid",
            "--auth-url", sfmc_url, stdin="sfmc-csecret\n")  # fmt: skip
        assert "created" in await cli(service, "sfmc", "install", "--mid", MID)
        assert "already installed" in await cli(service, "sfmc", "install", "--mid", MID)
        url = (await cli(service, "settings", "webhook-url", "--mid", MID)).strip()
        sender.register(service.url + url.removeprefix("https://ca.example.com"))
        # Marketing Cloud hangs on the first upsert: the process dies while it waits.
        sfmc.fail("rows", [Failure(503, delay=10.0)])
        await service.start()
        traffic = story("acme", 150, seed=21)
        for hook in traffic.webhooks:
            sender.send(hook)
        await sender.drain(30)
        assert all(o.delivered for o in sender.outcomes.values())  # all stored (200)
        # Until a sync round holds leases: its upsert hangs in Marketing Cloud.
        await wait_until(lambda: _leased(tmp_path / "crash.db") > 0, within=20)
        service.kill()
        await service.proc.wait()  # type: ignore[union-attr]
        assert sfmc.calls("rows") == []  # nothing reached Marketing Cloud
        await service.start()
        async with aiohttp.ClientSession() as http:
            problems = ["not synced"]
            deadline = time.monotonic() + 60
            while problems and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                problems = check_rows(traffic.expected, await read_rows(http, sfmc_url, MID))
        assert problems == []
    finally:
        await service.stop()
        await rokt_runner.cleanup()
        await sfmc_runner.cleanup()


def _leased(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        (n,) = conn.execute("SELECT COUNT(*) FROM inbox WHERE state = 'sending'").fetchone()
        return int(n)
