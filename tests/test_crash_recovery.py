"""SIGKILL the real service process mid-run; after a restart nothing is lost or re-sent."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from cryptography.fernet import Fernet

from activity.fake_rokt.server import start_fake_rokt
from activity.testing import TEST_SECRET, event_arguments, execute_payload, sign

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """`rokt-activity serve` as a child process, on SQLite in a temp dir."""

    def __init__(self, tmp: Path, rokt_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("ACTIVITY_", "ROKT_"))},
            "ACTIVITY_PUBLIC_URL": "https://ca.example.com",
            "ACTIVITY_JWT_SECRET": TEST_SECRET,
            "ACTIVITY_DATABASE_URL": f"sqlite:///{tmp / 'crash.db'}",
            "ACTIVITY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "ROKT_API_URL": rokt_url,
        }
        self.proc: asyncio.subprocess.Process | None = None

    async def cli(self, *args: str, **env: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "activity",
            *args,
            env={**self.env, **env},
            stdout=asyncio.subprocess.DEVNULL,
        )
        assert await proc.wait() == 0

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "activity",
            "serve",
            "--port",
            str(self.port),
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(f"{self.url}/readyz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError("service did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


async def send_all(url: str, payloads: list[dict[str, object]], stop_after: float = 0) -> list[str]:
    """Post executes 20 at a time; returns the subscription IDs whose contact was queued."""
    queued: list[str] = []
    sem = asyncio.Semaphore(20)
    async with aiohttp.ClientSession() as http:

        async def one(p: dict[str, object]) -> None:
            async with sem:
                try:
                    async with http.post(f"{url}/execute", data=sign(p)) as resp:
                        body = await resp.json()
                except aiohttp.ClientError:
                    return  # the process died before answering: JB would retry; not promised
                if resp.status == 200 and body["roktStatus"] == "queued":
                    args = {k: v for d in p["inArguments"] for k, v in d.items()}  # type: ignore[attr-defined]
                    queued.append(str(args["calendarSubscriptionId"]))

        await asyncio.gather(*(one(p) for p in payloads))
    return queued


async def wait_until(predicate: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


@pytest.fixture
async def rokt_port() -> AsyncIterator[int]:
    yield free_port()


def payloads(n: int) -> list[dict[str, object]]:
    return [
        execute_payload(
            event_arguments(calendarSubscriptionId=str(uuid.uuid4())), contact_key=f"K{i}"
        )
        for i in range(n)
    ]


async def test_killed_while_rokt_is_down_then_restarted_delivers_each_exactly_once(
    tmp_path: Path, rokt_port: int
) -> None:
    url = f"http://127.0.0.1:{rokt_port}"
    service = Service(tmp_path, url)
    await service.cli(
        "settings",
        "set",
        "--mid",
        "500000001",
        "--account-code",
        "acme",
        "--client-id",
        "demo-client",
        ROKT_CLIENT_SECRET="demo-secret",
    )
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


async def test_killed_mid_delivery_loses_nothing(tmp_path: Path, rokt_port: int) -> None:
    fake, url, runner = await start_fake_rokt(port=rokt_port)
    fake.delay = 0.2  # slow Rokt: requests are in flight when the process dies
    service = Service(tmp_path, url)
    await service.cli(
        "settings",
        "set",
        "--mid",
        "500000001",
        "--account-code",
        "acme",
        "--client-id",
        "demo-client",
        ROKT_CLIENT_SECRET="demo-secret",
    )
    await service.start()
    try:
        sending = asyncio.create_task(send_all(service.url, payloads(400)))
        await wait_until(lambda: len(fake.calls("create", 202)) >= 2, within=30)
        service.kill()
        killed_at = fake.clock()
        recorded_at_kill = len(fake.requests)
        queued = await sending
        await service.proc.wait()  # type: ignore[union-attr]
        await service.start()
        expected = set(queued)
        await wait_until(lambda: expected <= set(fake.subscription_ids_sent()), within=60)
        await asyncio.sleep(0.5)
        sent = Counter(fake.subscription_ids_sent())
        # Only a call that Rokt had received but not yet answered when the process died can
        # be sent again: its outcome never reached the database.
        in_flight = {
            sub
            for r in fake.requests[recorded_at_kill:]
            if r.at <= killed_at and r.endpoint == "create" and r.json
            for sub in r.json["subscriptionIds"]
        }
        duplicated = {sub for sub, n in sent.items() if n > 1}
        assert duplicated <= in_flight
        assert expected <= set(sent)
    finally:
        await service.stop()
        await runner.cleanup()
