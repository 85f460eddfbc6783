"""`rokt-activity serve` as a real child process, and Journey Builder traffic to send it.

Shared by the crash test (SQLite), the multi-instance test (PostgreSQL) and the log-hygiene
test, which reads every line the process and its CLI print.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable

import aiohttp
from cryptography.fernet import Fernet

from activity.devtools.bench.procs import free_port
from activity.devtools.jb import TEST_SECRET, event_arguments, execute_payload, sign


class Service:
    """`rokt-activity serve` as a child process on `database_url`.

    Instances that share a database must share `encryption_key` too; `env` adds variables
    (ACTIVITY_INSTANCE_ID, ACTIVITY_DELIVERY_LEASE_SECONDS, ...).
    """

    def __init__(
        self,
        rokt_url: str,
        *,
        database_url: str,
        encryption_key: str | None = None,
        workers: int = 1,
        **env: str,
    ) -> None:
        self.workers = workers  # --workers: more than one runs a supervisor and its workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("ACTIVITY_", "ROKT_"))},
            "ACTIVITY_PUBLIC_URL": "https://ca.example.com",
            "ACTIVITY_JWT_SECRET": TEST_SECRET,
            "ACTIVITY_DATABASE_URL": database_url,
            "ACTIVITY_ENCRYPTION_KEY": encryption_key or Fernet.generate_key().decode(),
            "ROKT_API_URL": rokt_url,
            **env,
        }
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []  # what the served process printed, stdout and stderr
        self.cli_output: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    async def cli(self, *args: str, **env: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "activity",
            *args,
            env={**self.env, **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        assert proc.returncode == 0, err
        self.cli_output += (out + err).decode().splitlines()

    async def start(self) -> None:
        await self._drain_output()  # of a previous process, killed or stopped
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "activity",
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read(self.proc))
        await wait_ready(self.url)

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    async def _drain_output(self) -> None:
        if self._reader is not None:
            await self._reader
            self._reader = None

    async def configure(self, mid: str = "500000001") -> None:
        """Store the business unit's settings for the fake Rokt's demo client."""
        await self.cli(
            "settings", "set", "--mid", mid, "--account-code", "acme",
            "--client-id", "demo-client", ROKT_CLIENT_SECRET="demo-secret",
        )  # fmt: skip

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()
        await self._drain_output()


async def wait_ready(url: str) -> None:
    """Until `url`/readyz answers 200 (10 s at most)."""
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(f"{url}/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("service did not start")


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
                    queued.append(subscription_of(p))

        await asyncio.gather(*(one(p) for p in payloads))
    return queued


def subscription_of(payload: dict[str, object]) -> str:
    args = {k: v for d in payload["inArguments"] for k, v in d.items()}  # type: ignore[attr-defined]
    return str(args["calendarSubscriptionId"])


async def wait_until(predicate: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


def payloads(n: int, scope: str = "shared") -> list[dict[str, object]]:
    """`n` contacts, each with its own subscription ID; one event for all (shared) or one
    event per contact (contact scope: one Rokt call each)."""
    return [
        execute_payload(
            event_arguments(calendarSubscriptionId=str(uuid.uuid4()), eventScope=scope),
            contact_key=f"K{i}",
        )
        for i in range(n)
    ]
