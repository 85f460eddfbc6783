"""Duplicates per 1,000 contacts in two fault cases, counted by the fake Rokt.

    python -m activity.devtools.resend_faults [--contacts 1000] [--case slow|kill]
        [--service-path DIR]

Each case serves `rokt-activity serve` as a child process (SQLite) against a fake Rokt on a
real socket, sends `--contacts` executes for one shared event, and counts events the fake saw
attached twice to one subscription:

- slow: Rokt acts on every create at once but answers only after SLOW_SECONDS, past the
  service's 10 s Rokt timeout, until each contact's create has reached it once;
- kill: the contacts wait (Rokt's token endpoint is down) until all are accepted; then creates
  are answered after KILL_CALL_SECONDS, and the service gets SIGKILL while the first full
  batch is in flight, and is started again.

`--service-path DIR` serves the activity from another checkout (put first on PYTHONPATH), so
the same faults can be measured on the code before a change.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from cryptography.fernet import Fernet

from activity.devtools.bench.procs import free_port
from activity.devtools.fake_rokt import FakeRokt, start_fake_rokt
from activity.devtools.jb import TEST_SECRET, event_arguments, execute_payload, sign

SLOW_SECONDS = 12.0  # against the service's 10 s Rokt timeout (config.rokt_timeout_seconds)
KILL_CALL_SECONDS = 3.0
KILL_AT_IN_FLIGHT = 400  # contacts in creates Rokt holds when the kill comes
MID = "500000001"
METRICS_TOKEN = "resend-faults-metrics"  # noqa: S105 - a throwaway scrape token for the child


@dataclass(frozen=True)
class Result:
    case: str
    contacts: int
    delivered: int  # subscriptions that hold the event
    duplicates: int  # attachments of the event to a subscription that already held it
    creates: int  # create calls Rokt received
    interrupted: int = 0  # contacts in the creates in flight when the process was killed

    @property
    def per_thousand(self) -> float:
        return 1000 * self.duplicates / max(1, self.contacts)


class Served:
    """`python -m activity serve` on a fresh SQLite database."""

    def __init__(
        self,
        rokt_url: str,
        workdir: Path,
        service_path: str | None = None,
        database_url: str | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("ACTIVITY_", "ROKT_"))}
        self.env = {
            **keep,
            "ACTIVITY_PUBLIC_URL": "https://ca.example.com",
            "ACTIVITY_JWT_SECRET": TEST_SECRET,
            "ACTIVITY_DATABASE_URL": database_url or f"sqlite:///{workdir / 'activity.db'}",
            "ACTIVITY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "ACTIVITY_LOG_LEVEL": "WARNING",
            "ACTIVITY_METRICS_TOKEN": METRICS_TOKEN,
            "ROKT_API_URL": rokt_url,
        }
        if database_url:
            # On PostgreSQL a restarted instance has a new name: it takes over the killed
            # one's leases when they run out (the shortest lease the settings allow).
            self.env["ACTIVITY_DELIVERY_LEASE_SECONDS"] = "21"
        # Another checkout: without `site` (-S) an editable install of this one cannot take
        # precedence; the installed libraries come from this interpreter's site-packages.
        self.python = [sys.executable]
        self.cwd = service_path  # `-m` puts the working directory first on sys.path
        if service_path:
            libraries = [p for p in sys.path if p.endswith("site-packages")]
            self.env["PYTHONPATH"] = os.pathsep.join([service_path, *libraries])
            self.python.append("-S")
        self.proc: asyncio.subprocess.Process | None = None

    async def configure(self) -> None:
        proc = await asyncio.create_subprocess_exec(
            *self.python, "-m", "activity", "settings", "set", "--mid", MID,
            "--account-code", "acme", "--client-id", "demo-client",
            env={**self.env, "ROKT_CLIENT_SECRET": "demo-secret"}, cwd=self.cwd,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        if await proc.wait() != 0:
            raise RuntimeError("settings set failed")

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.python, "-m", "activity", "serve", "--port", str(self.port),
            env=self.env, cwd=self.cwd,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        async with aiohttp.ClientSession() as http:
            for _ in range(400):
                try:
                    async with http.get(f"{self.url}/readyz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError("the service did not start")

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()

    async def outbox_depth(self, http: aiohttp.ClientSession) -> float:
        auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        async with http.get(f"{self.url}/metrics", headers=auth) as resp:
            for line in (await resp.text()).splitlines():
                if line.startswith("activity_outbox_depth "):
                    return float(line.split()[1])
        return float("nan")


async def send(url: str, contacts: int) -> list[str]:
    """One execute per contact, 20 at a time; the subscription IDs that were queued."""
    queued: list[str] = []
    gate = asyncio.Semaphore(20)
    async with aiohttp.ClientSession() as http:

        async def one(i: int) -> None:
            sub = str(uuid.uuid4())
            args = event_arguments(mid=MID, eid="", calendarSubscriptionId=sub)
            body = sign(execute_payload(args, contact_key=f"K{i}"))
            async with gate, http.post(f"{url}/execute", data=body) as resp:
                if resp.status == 200 and (await resp.json())["roktStatus"] == "queued":
                    queued.append(sub)

        await asyncio.gather(*(one(i) for i in range(contacts)))
    return queued


async def until(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def in_flight(fake: FakeRokt) -> int:
    """Contacts in the creates Rokt has received and not yet answered."""
    now = fake.clock()
    return sum(
        len(r.json["subscriptionIds"])
        for r in fake.calls("create", 202)
        if r.at + r.delay > now and isinstance(r.json, dict)
    )


def reached(fake: FakeRokt, subs: list[str]) -> bool:
    return set(subs) <= set(fake.subscription_ids_sent())


async def settled(service: Served, fake: FakeRokt, subs: list[str], within: float) -> None:
    """Every contact delivered, the outbox empty, and Rokt quiet for three seconds."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            last = len(fake.requests)
            await asyncio.sleep(3.0)
            quiet = len(fake.requests) == last
            if quiet and reached(fake, subs) and await service.outbox_depth(http) == 0:
                return
    raise TimeoutError("the service did not settle")


async def measure(
    case: str,
    contacts: int,
    workdir: Path,
    service_path: str | None = None,
    database_url: str | None = None,
) -> Result:
    fake, rokt_url, runner = await start_fake_rokt(port=free_port())
    service = Served(rokt_url, workdir, service_path, database_url)
    interrupted = 0
    try:
        await service.configure()
        await service.start()
        if case == "slow":
            fake.script("create", [None] * 100_000, delay=SLOW_SECONDS)
            subs = await send(service.url, contacts)
            await until(lambda: reached(fake, subs), 300, "every create to reach Rokt")
            fake.clear_scripts()
        elif case == "kill":
            # Rokt's token endpoint is down while the contacts arrive, so that a full batch
            # (up to 500 contacts) goes out in the call that the kill interrupts.
            fake.token_endpoint_down = True
            subs = await send(service.url, contacts)
            fake.script("create", [None] * 100_000, delay=KILL_CALL_SECONDS)
            fake.token_endpoint_down = False
            want = min(KILL_AT_IN_FLIGHT, len(subs) // 2)
            await until(lambda: in_flight(fake) >= want, 60, f"{want} contacts in flight")
            interrupted = in_flight(fake)
            await service.kill()
            fake.clear_scripts()
            await service.start()
        else:
            raise ValueError(f"unknown case {case!r}")
        await settled(service, fake, subs, within=600)
        delivered = sum(len(held) for held in fake.holders.values())
        creates = len(fake.calls("create"))
        return Result(case, len(subs), delivered, fake.duplicates(), creates, interrupted)
    finally:
        await service.stop()
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m activity.devtools.resend_faults")
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--case", choices=("slow", "kill"), action="append")
    parser.add_argument("--service-path", help="serve the activity from this checkout")
    args = parser.parse_args(argv)
    for case in args.case or ["slow", "kill"]:
        with tempfile.TemporaryDirectory() as tmp:
            result = asyncio.run(measure(case, args.contacts, Path(tmp), args.service_path))
        print(
            f"{result.case}: {result.contacts} contacts, {result.delivered} delivered, "
            f"{result.creates} create calls, {result.interrupted} contacts in the killed calls, "
            f"{result.duplicates} duplicates "
            f"({result.per_thousand:.0f} per 1,000)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
