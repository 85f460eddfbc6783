"""`python -m activity.devtools.bench` (`make bench`): the service's /execute against a floor,
on loopback, in one run.

(a) the floor (`activity.devtools.bench.baseline`): aiohttp + PyJWT verification, nothing else;
(b) the real service (`rokt-activity serve`, SQLite in a temporary directory) delivering to
    the fake Rokt (`activity.devtools.bench.rokt`, the package's fake plus a stats route); its
    business unit is stored with `rokt-activity settings set`.
Timed rounds alternate between them (rounds.py), at about 1 KB and 3 KB per body (bodies.py),
then with N workers against one and N floor processes; wrk replays distinct bodies signed
beforehand (load.py, pools.py). phases.py times one round or phase, report.py prints the
figures and targets, command.py reads the options.
"""

from __future__ import annotations

import asyncio
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from contextlib import ExitStack
from pathlib import Path

import aiohttp
from cryptography.fernet import Fernet
from rich.console import Console

from activity.devtools.bench import webhooks as webhook_bench
from activity.devtools.bench.bodies import LARGE, SMALL
from activity.devtools.bench.load import LoadResult, run_wrk
from activity.devtools.bench.phases import Phases
from activity.devtools.bench.pools import BenchConfig, Pools
from activity.devtools.bench.procs import (
    Processes,
    children,
    free_port,
    peak_rss_mb,
    rokt_command,
    rokt_stats,
    start_profiler,
    stop,
    stop_profiler,
    wait_ready,
)
from activity.devtools.bench.report import BenchReport, Phase
from activity.devtools.bench.report_print import print_report
from activity.devtools.bench.rounds import SERVICE, Round, combined, service_n
from activity.devtools.demo_contacts import MID, Contact

CLIENT_ID = "bench-client"
ACCOUNT_CODE = "BENCH"


class Run(Phases):
    """One benchmark run: its processes, URLs and secrets (secrets reach children by env)."""

    def __init__(self, config: BenchConfig, console: Console, workdir: Path, stack: ExitStack):
        self.config = config
        self.console = console
        self.workdir = workdir
        self.procs = Processes(workdir, stack)
        self.jwt_secret = secrets.token_urlsafe(32)
        rokt_secret = secrets.token_urlsafe(24)
        self.rokt_url, self.service_url, self.baseline_url = (
            f"http://127.0.0.1:{free_port()}" for _ in range(3)
        )
        self.env = dict(os.environ)
        self.env.update(
            ACTIVITY_PUBLIC_URL=self.service_url,
            ACTIVITY_JWT_SECRET=self.jwt_secret,
            ACTIVITY_DATABASE_URL=config.database_url or f"sqlite:///{workdir / 'bench.db'}",
            ACTIVITY_ENCRYPTION_KEY=Fernet.generate_key().decode(),
            ROKT_API_URL=self.rokt_url,
            ROKT_CLIENT_SECRET=rokt_secret,
            BENCH_ROKT_CLIENT_SECRET=rokt_secret,
            BENCH_JWT_SECRET=self.jwt_secret,
        )
        # Subscription IDs Rokt must hold so far (answered "queued"), and may hold (also
        # those whose execute got no answer: the service may have accepted them anyway).
        self.confirmed = self.possible = 0
        self.service_pid = 0
        self.rounds: list[Round] = []
        self.pools = Pools(config, self.jwt_secret, workdir)

    def port(self, url: str) -> str:
        return url.rsplit(":", 1)[1]

    def wrk(
        self, url: str, name: str, *, exhaust: bool, seconds: float = 0.0, paced: bool = False
    ) -> Awaitable[LoadResult]:
        c = self.config
        return run_wrk(
            url,
            self.workdir / name,
            threads=c.threads,
            connections=c.paced_connections if paced else c.connections,
            seconds=seconds,
            exhaust=exhaust,
            rate=c.paced_rate if paced else None,
        )

    async def store_settings(self) -> None:
        argv = ["settings", "set", "--mid", MID, "--account-code", ACCOUNT_CODE]
        proc = await asyncio.create_subprocess_exec(
            *rokt_command(),
            *argv,
            "--client-id",
            CLIENT_ID,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        if await proc.wait() != 0:
            raise RuntimeError("rokt-activity settings set failed")

    def sign(self) -> tuple[list[Contact], list[Contact], list[Contact]]:
        c, pools = self.config, self.pools
        for size, rounds in ((SMALL, c.rounds), (LARGE, c.large_rounds)):
            if rounds:
                pools.add(f"floor-{size}", c.round_bodies, size=size)
            for r in range(rounds):
                pools.add(f"service-{size}-{r}", c.round_bodies // 2, size=size)
        if c.workers > 1:
            for r in range(c.worker_rounds):
                pools.add(f"workers-{r}", c.round_bodies // 2)
        contact = pools.add("contact", c.per_contact, personalized=True)
        paced = pools.add("paced", int(c.paced_rate * c.paced_seconds))
        return contact, paced, pools.add_subscribers(c.subscribe_contacts)

    async def start_service(self, http: aiohttp.ClientSession, workers: int) -> None:
        serve = [*rokt_command(), "serve", "--port", self.port(self.service_url)]
        serve += ["--workers", str(workers)]
        service = self.procs.start(f"service-{workers}", serve, self.env)
        self.service_pid = service.pid
        self._service = service
        await wait_ready(http, f"{self.service_url}/readyz", service)
        if workers > 1:  # every worker listening, not only the first to answer
            deadline = time.monotonic() + 30
            while len(children(service.pid)) < workers and time.monotonic() < deadline:  # noqa: ASYNC110 - other processes
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)

    async def alternate(self, http: aiohttp.ClientSession) -> None:
        c = self.config
        profiler = None
        for size, rounds in ((SMALL, c.rounds), (LARGE, c.large_rounds)):
            for r in range(rounds):
                if c.profile and not r and size == SMALL:
                    profiler = await start_profiler(self.procs, self.service_pid, c.profile)
                self.rounds.append(await self.service_round(http, f"service-{size}-{r}", size))
                if profiler:
                    stop_profiler(self.procs, profiler)
                    profiler = None
                    self.console.print(f"flame graph of the first service round: {c.profile}")
                self.rounds.append(await self.floor_round(http, f"floor-{size}", size))

    async def per_machine(self, http: aiohttp.ClientSession) -> None:
        """The service with N workers, against one floor process and against N."""
        n = self.config.workers
        stop(self._service)
        await self.start_service(http, n)
        for r in range(self.config.worker_rounds):
            self.rounds.append(await self.service_round(http, f"workers-{r}", SMALL, service_n(n)))
            self.rounds.append(await self.floor_round(http, f"floor-{SMALL}", SMALL))
            self.rounds.append(await self.floor_round(http, f"floor-{SMALL}", SMALL, n))

    async def measure(self) -> BenchReport:
        c = self.config
        signing = time.monotonic()
        contact_pool, paced_pool, subscribers = self.sign()
        took = time.monotonic() - signing
        self.console.print(f"signed {self.pools.signed:,} distinct execute bodies in {took:.1f} s")
        await self.store_settings()
        async with aiohttp.ClientSession() as http:
            argv = [sys.executable, "-m", "activity.devtools.bench.rokt", "--client-id", CLIENT_ID]
            argv += ["--token-ttl", str(c.token_ttl), "--port", self.port(self.rokt_url)]
            argv += ["--subscribe-latency", str(c.subscribe_latency)]
            rokt = self.procs.start("rokt", argv, self.env)
            await wait_ready(http, f"{self.rokt_url}/_bench/stats", rokt)
            started = time.monotonic()
            await self.start_service(http, 1)
            await self.alternate(http)
            rounds_rss = peak_rss_mb(self.service_pid)
            url = self.service_url
            contact = await self.phase(
                http, "contact scope, wrk", contact_pool, self.wrk(url, "contact", exhaust=True)
            )
            paced = await self.phase(
                http,
                f"paced at {c.paced_rate:,.0f}/s",
                paced_pool,
                self.wrk(url, "paced", exhaust=True, paced=True),
            )
            subscribing = await self.subscribe_phase(http, subscribers)
            rss = peak_rss_mb(self.service_pid)
            contacts_total = sum(r.load.sent for r in self.rounds if r.server == SERVICE)
            contacts_total += len(contact_pool) + len(paced_pool)
            if c.workers > 1:
                await self.per_machine(http)
            hooks = None
            if c.webhooks:
                self.console.print(f"service, webhooks: {c.webhooks:,} Rokt webhooks")
                hooks = await webhook_bench.webhook_phase(
                    self.procs, self.env, http, account_code=ACCOUNT_CODE,
                    client_id=CLIENT_ID, webhooks=c.webhooks,
                )  # fmt: skip
            final = await rokt_stats(http, self.rokt_url)
            service_seconds = time.monotonic() - started
        distinct, repeated = final["subscriptions_distinct"], final["subscriptions_repeated"]
        exact = repeated == 0 and self.confirmed <= distinct <= self.possible
        expected = f"{self.confirmed:,}" + (
            f" to {self.possible:,}" if self.possible > self.confirmed else ""
        )
        problem = (
            f"Rokt holds {distinct:,} distinct subscription IDs ({repeated:,} more than once); "
            f"expected {expected}, each once"
        )
        small = [r for r in self.rounds if (r.server, r.size) == (SERVICE, SMALL)]
        shared = Phase(
            combined(small),
            sum(r.load.sent for r in small),
            sum(r.accepted for r in small),
            sum(r.rokt_calls for r in small),
            max((r.drain_seconds for r in small), default=0.0),
            rounds_rss,
        )
        return BenchReport(
            environment=(
                f"loopback, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
                f"{self.env['ACTIVITY_DATABASE_URL'].split(':', 1)[0]}; wrk: "
                f"{c.threads} thread(s), {c.connections} connections, {c.round_seconds:.0f} s "
                f"rounds of distinct pre-signed bodies (none repeated); "
                f"paced: wrk open loop, {c.paced_connections} connections"
            ),
            rounds=tuple(self.rounds),
            workers=c.workers,
            threads=c.threads,
            service_processes=1 + (c.workers if c.workers > 1 else 0),
            shared=shared,
            per_contact=contact,
            paced=paced,
            paced_rate=c.paced_rate,
            token_grants=int(final["token_grants"]),
            accounts=1,
            token_ttl=c.token_ttl,
            service_seconds=service_seconds,
            peak_rss_mb=rss,
            contacts_total=contacts_total,
            delivered_exactly_once=exact,
            delivery_problem="" if exact else problem,
            subscribe=subscribing,
            webhooks=hooks,
        )


def run_bench(config: BenchConfig, console: Console | None = None) -> BenchReport:
    # Piped output (make bench | tee) gets a width the table fits in.
    console = console or (Console() if sys.stdout.isatty() else Console(width=130))
    with tempfile.TemporaryDirectory(prefix="rokt-activity-bench-") as tmp, ExitStack() as stack:
        report = asyncio.run(Run(config, console, Path(tmp), stack).measure())
    print_report(report, console)
    return report
