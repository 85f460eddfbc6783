"""SIGKILL the real service process mid-run; after a restart nothing is lost or re-sent."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from activity.devtools.fake_rokt.server import start_fake_rokt
from activity.devtools.fake_rokt.state import FakeRokt
from tests.service_process import Service, free_port, payloads, send_all, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
async def rokt_port() -> AsyncIterator[int]:
    yield free_port()


async def test_killed_while_rokt_is_down_then_restarted_delivers_each_exactly_once(
    tmp_path: Path, rokt_port: int
) -> None:
    url = f"http://127.0.0.1:{rokt_port}"
    service = Service(url, database_url=f"sqlite:///{tmp_path / 'crash.db'}")
    await service.configure()
    await service.start()
    try:
        queued = await send_all(service.url, payloads(200))
        assert len(queued) == 200
        service.kill()
        await service.proc.wait()  # type: ignore[union-attr]
        fake, _, runner = await start_fake_rokt(port=rokt_port)
        try:
            await service.start()
            await wait_until(lambda: len(fake.subscription_ids_sent()) >= 200, within=60)
            await asyncio.sleep(0.5)
            sent = Counter(fake.subscription_ids_sent())
            assert sorted(sent) == sorted(queued)
            assert set(sent.values()) == {1}
        finally:
            await runner.cleanup()
    finally:
        await service.stop()


QUIET = 0.15


async def kill_in_a_quiet_moment(service: Service, fake: FakeRokt) -> None:
    """SIGKILL while Rokt holds a call and has answered nothing for QUIET seconds.

    A call answered just before the kill may not have had its outcome committed yet; its
    re-send would be legitimate but would not count as in flight. QUIET gives every earlier
    answer ample time to reach the database, so the accounting below is exact.
    """
    last, changed = len(fake.requests), time.monotonic()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        await asyncio.sleep(0.005)
        if len(fake.requests) != last:
            last, changed = len(fake.requests), time.monotonic()
        elif fake.in_flight > 0 and time.monotonic() - changed >= QUIET:
            service.kill()
            return
    raise AssertionError("no quiet moment with a call in flight")


async def test_killed_mid_delivery_loses_nothing(tmp_path: Path, rokt_port: int) -> None:
    fake, url, runner = await start_fake_rokt(port=rokt_port)
    fake.delay = 0.2  # slow Rokt: requests are in flight when the process dies
    service = Service(url, database_url=f"sqlite:///{tmp_path / 'crash.db'}")
    await service.configure()
    await service.start()
    try:
        sending = asyncio.create_task(send_all(service.url, payloads(400, scope="contact")))
        await wait_until(lambda: len(fake.calls("create", 202)) >= 2, within=30)
        await kill_in_a_quiet_moment(service, fake)
        queued = await sending
        await service.proc.wait()  # type: ignore[union-attr]
        await service.start()
        expected = set(queued)
        await wait_until(lambda: expected <= set(fake.subscription_ids_sent()), within=60)
        await asyncio.sleep(0.5)
        sent = Counter(fake.subscription_ids_sent())
        # A call Rokt had received but not answered when the process died left its items
        # marked as maybe sent; the restarted worker asked Rokt before sending them again.
        assert fake.duplicates() == 0
        assert set(sent.values()) == {1}
        assert expected <= set(sent)
    finally:
        await service.stop()
        await runner.cleanup()
