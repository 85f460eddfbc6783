"""`python -m activity.devtools.bench` (`make bench`): the service's /execute against a floor,
on loopback, in one run.

(a) the floor (`activity.devtools.bench.baseline`): aiohttp + PyJWT verification, nothing else;
(b) the real service (`rokt-activity serve`, SQLite in a temporary directory) delivering to
    the fake Rokt (`activity.devtools.bench.rokt`, the package's fake plus a stats route); its
    business unit is stored with `rokt-activity settings set`.
Timed rounds alternate between them (rounds.py), at about 1 KB and 3 KB per body (bodies.py),
then with N workers against one and N floor processes; wrk replays distinct bodies signed
beforehand (load.py). The figures and targets are printed by report.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import aiohttp
from cryptography.fernet import Fernet
from rich.console import Console

from activity.devtools.bench import subscribe
from activity.devtools.bench import webhooks as webhook_bench
from activity.devtools.bench.bodies import LARGE, SMALL, execute_bodies
from activity.devtools.bench.load import LoadResult, run_wrk, sent_indices, write_bodies
from activity.devtools.bench.procs import (
    Processes,
    children,
    cpu_seconds,
    drain,
    free_port,
    peak_rss_mb,
    rokt_command,
    rokt_stats,
    start_profiler,
    stop,
    stop_profiler,
    tree_cpu_seconds,
    wait_ready,
)
from activity.devtools.bench.report import BenchReport, Phase, print_report
from activity.devtools.bench.rounds import FLOOR, SERVICE, Round, combined, floor_n, service_n
from activity.devtools.bench.subscribe import SubscribePhase
from activity.devtools.demo import MID, Contact, make_contacts

CLIENT_ID = "bench-client"
ACCOUNT_CODE = "BENCH"


@dataclass(frozen=True)
class BenchConfig:
    rounds: int = 3  # alternating service/floor rounds with ~1 KB bodies
    large_rounds: int = 2  # the same with ~3 KB bodies (0: none)
    round_seconds: float = 4.0
    # Distinct bodies per floor round (half that per service round, which is slower); a
    # round that would need more fails rather than repeat one.
    round_bodies: int = 80_000
    workers: int = os.cpu_count() or 1  # the per-machine rounds (1: none)
    worker_rounds: int = 2
    per_contact: int = 10_000  # contact scope: one Rokt event per contact
    paced_rate: float = 1000.0
    paced_seconds: float = 10.0
    paced_connections: int = 128  # JB: up to 50 per worker, several workers; few are busy
    threads: int = 1
    connections: int = 32
    token_ttl: float = 300.0
    drain_timeout: float = 180.0
    profile: Path | None = None  # py-spy flame graph of the service's GIL, first round
    subscribe_contacts: int = subscribe.DEFAULT_CONTACTS  # 0 skips the subscribe phase
    subscribe_latency: float = subscribe.DEFAULT_LATENCY
    webhooks: int = webhook_bench.DEFAULT_WEBHOOKS  # 0 skips the webhook phase
    database_url: str = ""  # empty: SQLite in the run's temporary directory


def accepted(contacts: Sequence[Contact]) -> tuple[int, int]:
    """(contacts that will be queued, subscription IDs they carry)."""
    with_subs = [c for c in contacts if c.subscription_ids]
    return len(with_subs), sum(len(c.subscription_ids) for c in with_subs)


class Pools:
    """Bodies to send, one file set per name; the contacts of each service pool are kept
    to know which subscription IDs Rokt must hold. Each body is signed once, sent once."""

    def __init__(self, config: BenchConfig, secret: str, workdir: Path) -> None:
        self.config, self.secret, self.workdir = config, secret, workdir
        self.rng = random.Random(7)  # noqa: S311 - repeatable load data, not secrets
        self.contacts: dict[str, list[Contact]] = {}
        self.signed = 0

    def add(
        self, name: str, count: int, *, size: str = SMALL, personalized: bool = False
    ) -> list[Contact]:
        contacts = make_contacts(count, self.rng)
        bodies = execute_bodies(
            contacts, self.secret, personalized=personalized, size=size, rng=self.rng
        )
        self.signed += write_bodies(self.workdir / name, bodies, self.config.threads)
        self.contacts[name] = contacts
        return contacts

    def add_subscribers(self, count: int) -> list[Contact]:
        contacts = make_contacts(count, self.rng)
        bodies = subscribe.subscribe_bodies(contacts, self.secret)
        self.signed += write_bodies(self.workdir / "subscribe", bodies, self.config.threads)
        return contacts


class Run:
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

    async def floor_round(
        self, http: aiohttp.ClientSession, pool: str, size: str, processes: int = 1
    ) -> Round:
        """Fresh floor processes (SO_REUSEPORT when several), one timed round, stopped."""
        argv = [sys.executable, "-m", "activity.devtools.bench.baseline", "--port"]
        argv += [self.port(self.baseline_url)] + (["--reuse-port"] if processes > 1 else [])
        floors = [self.procs.start(f"floor-{i}", argv, self.env) for i in range(processes)]
        for proc in floors:
            await wait_ready(http, f"{self.baseline_url}/healthz", proc)
        if processes > 1:
            await asyncio.sleep(0.2)  # every process listening, not only the first
        server = FLOOR if processes == 1 else floor_n(processes)
        self.console.print(f"{server}, {size}: wrk for {self.config.round_seconds:.0f} s")
        cpu = sum(cpu_seconds(p.pid) for p in floors)
        result = await self.wrk(
            self.baseline_url, pool, exhaust=False, seconds=self.config.round_seconds
        )
        result = replace(result, server_cpu_seconds=sum(cpu_seconds(p.pid) for p in floors) - cpu)
        for proc in floors:
            stop(proc)
        return Round(server, size, result)

    async def service_round(
        self, http: aiohttp.ClientSession, pool: str, size: str, server: str = SERVICE
    ) -> Round:
        """One timed round against the service; waits until Rokt holds what it accepted."""
        contacts = self.pools.contacts[pool]
        before = (await rokt_stats(http, self.rokt_url))["calls_total"]
        self.console.print(f"{server}, {size}: wrk for {self.config.round_seconds:.0f} s")
        cpu = tree_cpu_seconds(self.service_pid)
        load = await self.wrk(
            self.service_url, pool, exhaust=False, seconds=self.config.round_seconds
        )
        sent = [contacts[i] for i in sent_indices(len(contacts), load.sent_by_thread)]
        queued, subs = accepted(sent)
        # Bodies in flight at the end, or failed, may or may not have been accepted.
        unsure = load.sent - load.requests + load.errors + load.non_2xx
        most = max((len(c.subscription_ids) for c in sent), default=0)
        self.confirmed += subs - min(subs, most * unsure)
        self.possible += subs
        waited, stats = await drain(http, self.rokt_url, self.confirmed, self.config.drain_timeout)
        # The service's CPU until its deliveries drained: accepting and delivering.
        load = replace(load, server_cpu_seconds=tree_cpu_seconds(self.service_pid) - cpu)
        return Round(server, size, load, stats["calls_total"] - before, queued, waited)

    async def phase(
        self,
        http: aiohttp.ClientSession,
        name: str,
        contacts: Sequence[Contact],
        load: Awaitable[LoadResult],
    ) -> Phase:
        queued, subs = accepted(contacts)
        before = (await rokt_stats(http, self.rokt_url))["calls_total"]
        self.console.print(f"service, {name}: {len(contacts):,} contacts")
        cpu = cpu_seconds(self.service_pid)
        result = await load
        # wrk counts failures but cannot say which bodies failed: assume the largest.
        most = max((len(c.subscription_ids) for c in contacts), default=0)
        unsure = min(subs, most * (result.errors + result.non_2xx))
        self.confirmed += subs - unsure
        self.possible += subs
        limit = self.config.drain_timeout
        waited, stats = await drain(http, self.rokt_url, self.confirmed, limit)
        calls = stats["calls_total"] - before
        result = replace(result, server_cpu_seconds=cpu_seconds(self.service_pid) - cpu)
        return Phase(result, len(contacts), queued, calls, waited, peak_rss_mb(self.service_pid))

    async def subscribe_phase(
        self, http: aiohttp.ClientSession, contacts: Sequence[Contact]
    ) -> SubscribePhase | None:
        if not contacts:
            return None
        c = self.config
        self.console.print(
            f"service, subscribe: {len(contacts):,} contacts, Rokt answers in "
            f"{1000 * c.subscribe_latency:.0f} ms"
        )
        load = self.wrk(self.service_url, "subscribe", exhaust=True)
        stats = partial(rokt_stats, http, self.rokt_url)
        return await subscribe.measure(
            load, stats, len(contacts), c.subscribe_latency, c.connections
        )

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


def main(argv: Sequence[str] | None = None) -> int:
    defaults = BenchConfig()
    parser = argparse.ArgumentParser(prog="python -m activity.devtools.bench", description=__doc__)
    parser.add_argument(
        "--contacts",
        type=int,
        default=defaults.round_bodies,
        help="distinct bodies signed for each floor round, half that for each service round "
        "(a round that needs more fails)",
    )
    parser.add_argument("--rounds", type=int, default=defaults.rounds, help="~1 KB rounds each")
    parser.add_argument(
        "--large-rounds", type=int, default=defaults.large_rounds, help="~3 KB rounds each"
    )
    parser.add_argument("--round-seconds", type=float, default=defaults.round_seconds)
    parser.add_argument(
        "--workers",
        type=int,
        default=defaults.workers,
        help="service workers (and floor processes) for the per-machine rounds (1: none)",
    )
    parser.add_argument("--worker-rounds", type=int, default=defaults.worker_rounds)
    parser.add_argument(
        "--database-url",
        default="",
        help="the service's database, e.g. an empty PostgreSQL one (default: a new SQLite file)",
    )
    parser.add_argument("--per-contact", type=int, default=defaults.per_contact)
    parser.add_argument("--paced-rate", type=float, default=defaults.paced_rate)
    parser.add_argument("--paced-seconds", type=float, default=defaults.paced_seconds)
    parser.add_argument("--connections", type=int, default=defaults.connections)
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--subscribe-contacts", type=int, default=defaults.subscribe_contacts)
    parser.add_argument(
        "--webhooks", type=int, default=defaults.webhooks, help="Rokt webhooks (0: no phase)"
    )
    parser.add_argument(
        "--subscribe-latency",
        type=float,
        default=defaults.subscribe_latency,
        metavar="SECONDS",
        help="how long the fake Rokt takes to create a subscription",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="SVG",
        help="write a py-spy flame graph of the service during its first round",
    )
    args = parser.parse_args(argv)
    config = BenchConfig(
        rounds=args.rounds,
        large_rounds=args.large_rounds,
        round_seconds=args.round_seconds,
        round_bodies=args.contacts,
        workers=args.workers,
        worker_rounds=args.worker_rounds,
        database_url=args.database_url,
        per_contact=args.per_contact,
        paced_rate=args.paced_rate,
        paced_seconds=args.paced_seconds,
        connections=args.connections,
        threads=args.threads,
        profile=args.profile.resolve() if args.profile else None,
        subscribe_contacts=args.subscribe_contacts,
        subscribe_latency=args.subscribe_latency,
        webhooks=args.webhooks,
    )
    report = run_bench(config)
    # Targets are goals, not a gate: the exit status fails only when delivery was wrong.
    webhooks_ok = report.webhooks is None or report.webhooks.exact
    return 0 if report.delivered_exactly_once and report.subscribed_once and webhooks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
