"""`python -m activity.devtools.bench` (`make bench`): the service's /execute against a baseline,
on loopback, in one run.

(a) the baseline (`activity.devtools.bench.baseline`): aiohttp + PyJWT verification, nothing else;
(b) the real service (`rokt-activity serve`, SQLite in a temporary directory) delivering to
    the fake Rokt (`activity.devtools.bench.rokt`, the package's fake plus a stats route); its
    business unit is stored with `rokt-activity settings set`.
wrk replays distinct bodies signed beforehand; see bench_load.py. The figures and targets
are printed by bench_report.py.
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
from collections.abc import Awaitable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import aiohttp
from cryptography.fernet import Fernet
from rich.console import Console

from activity.devtools.bench import subscribe
from activity.devtools.bench import webhooks as webhook_bench
from activity.devtools.bench.load import LoadResult, run_wrk, write_bodies
from activity.devtools.bench.procs import (
    Processes,
    cpu_seconds,
    drain,
    free_port,
    peak_rss_mb,
    rokt_command,
    rokt_stats,
    start_profiler,
    stop,
    stop_profiler,
    wait_ready,
)
from activity.devtools.bench.report import BenchReport, Phase, print_report
from activity.devtools.bench.subscribe import SubscribePhase
from activity.devtools.demo import (
    ACTIVITY_ID,
    JOURNEY_ID,
    MID,
    Contact,
    contact_arguments,
    make_contacts,
)
from activity.devtools.jb import execute_payload, sign

CLIENT_ID = "bench-client"
ACCOUNT_CODE = "BENCH"


@dataclass(frozen=True)
class BenchConfig:
    contacts: int = 80_000  # shared scope, as fast as the service goes
    per_contact: int = 10_000  # contact scope: one Rokt event per contact
    paced_rate: float = 1000.0
    paced_seconds: float = 10.0
    paced_connections: int = 128  # JB: up to 50 per worker, several workers; few are busy
    baseline_seconds: float = 10.0
    threads: int = 1
    connections: int = 32
    token_ttl: float = 300.0
    drain_timeout: float = 180.0
    profile: Path | None = None  # py-spy flame graph of the service's GIL during the shared load
    subscribe_contacts: int = subscribe.DEFAULT_CONTACTS  # 0 skips the subscribe phase
    subscribe_latency: float = subscribe.DEFAULT_LATENCY
    webhooks: int = webhook_bench.DEFAULT_WEBHOOKS  # 0 skips the webhook phase


def signed_bodies(
    contacts: Sequence[Contact], secret: str, *, personalized: bool
) -> Iterator[bytes]:
    for c in contacts:
        args = contact_arguments(c, personalized=personalized)
        payload = execute_payload(
            args, contact_key=c.key, activity_id=ACTIVITY_ID, journey_id=JOURNEY_ID
        )
        yield sign(payload, secret)


def accepted(contacts: Sequence[Contact]) -> tuple[int, int]:
    """(contacts that will be queued, subscription IDs they carry)."""
    with_subs = [c for c in contacts if c.subscription_ids]
    return len(with_subs), sum(len(c.subscription_ids) for c in with_subs)


@dataclass(frozen=True)
class Loads:
    """The contacts of each phase; each body is signed once and sent once."""

    shared: list[Contact]
    contact: list[Contact]
    paced: list[Contact]
    subscribers: list[Contact]

    @property
    def total(self) -> int:
        return len(self.shared) + len(self.contact) + len(self.paced)

    @classmethod
    def sign_all(cls, config: BenchConfig, secret: str, workdir: Path) -> Loads:
        rng = random.Random(7)  # noqa: S311 - repeatable load data, not secrets
        shared = make_contacts(config.contacts, rng)
        contact = make_contacts(config.per_contact, rng)
        paced = make_contacts(int(config.paced_rate * config.paced_seconds), rng)
        for name, contacts, personalized in (
            ("shared", shared, False),
            ("contact", contact, True),
            ("paced", paced, False),
        ):
            bodies = signed_bodies(contacts, secret, personalized=personalized)
            write_bodies(workdir / name, bodies, config.threads)
        subscribers = make_contacts(config.subscribe_contacts, rng)
        bodies = subscribe.subscribe_bodies(subscribers, secret)
        write_bodies(workdir / "subscribe", bodies, config.threads)
        return cls(shared, contact, paced, subscribers)


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
            ACTIVITY_DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}",
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

    def port(self, url: str) -> str:
        return url.rsplit(":", 1)[1]

    def wrk(
        self, url: str, name: str, *, exhaust: bool, seconds: float, paced: bool = False
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

    async def baseline(self, http: aiohttp.ClientSession) -> LoadResult:
        argv = [sys.executable, "-m", "activity.devtools.bench.baseline", "--port"]
        proc = self.procs.start("baseline", [*argv, self.port(self.baseline_url)], self.env)
        await wait_ready(http, f"{self.baseline_url}/healthz", proc)
        self.console.print(f"baseline: wrk for {self.config.baseline_seconds:.0f} s")
        cpu = cpu_seconds(proc.pid)
        result = await self.wrk(
            self.baseline_url, "shared", exhaust=False, seconds=self.config.baseline_seconds
        )
        result = replace(result, server_cpu_seconds=cpu_seconds(proc.pid) - cpu)
        stop(proc)
        return result

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
        # The service's CPU until its deliveries drained: accepting and delivering.
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
        load = self.wrk(self.service_url, "subscribe", exhaust=True, seconds=3600.0)
        stats = partial(rokt_stats, http, self.rokt_url)
        return await subscribe.measure(
            load, stats, len(contacts), c.subscribe_latency, c.connections
        )

    async def measure(self) -> BenchReport:
        c = self.config
        signing = time.monotonic()
        loads = Loads.sign_all(c, self.jwt_secret, self.workdir)
        took = time.monotonic() - signing
        self.console.print(f"signed {loads.total:,} distinct execute bodies in {took:.1f} s")
        await self.store_settings()
        async with aiohttp.ClientSession() as http:
            argv = [sys.executable, "-m", "activity.devtools.bench.rokt", "--client-id", CLIENT_ID]
            argv += ["--token-ttl", str(c.token_ttl), "--port", self.port(self.rokt_url)]
            argv += ["--subscribe-latency", str(c.subscribe_latency)]
            rokt = self.procs.start("rokt", argv, self.env)
            await wait_ready(http, f"{self.rokt_url}/_bench/stats", rokt)
            base = await self.baseline(http)
            serve = [*rokt_command(), "serve", "--port", self.port(self.service_url)]
            service = self.procs.start("service", serve, self.env)
            self.service_pid = service.pid
            started = time.monotonic()
            await wait_ready(http, f"{self.service_url}/readyz", service)
            url, forever = self.service_url, 3600.0
            profiler = c.profile and await start_profiler(self.procs, service.pid, c.profile)
            shared = await self.phase(
                http,
                "shared scope, wrk",
                loads.shared,
                self.wrk(url, "shared", exhaust=True, seconds=forever),
            )
            if profiler:
                stop_profiler(self.procs, profiler)
                self.console.print(f"flame graph of the shared-scope load: {c.profile}")
            contact = await self.phase(
                http,
                "contact scope, wrk",
                loads.contact,
                self.wrk(url, "contact", exhaust=True, seconds=forever),
            )
            paced = await self.phase(
                http,
                f"paced at {c.paced_rate:,.0f}/s",
                loads.paced,
                self.wrk(url, "paced", exhaust=True, seconds=forever, paced=True),
            )
            subscribing = await self.subscribe_phase(http, loads.subscribers)
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
        return BenchReport(
            environment=(
                f"loopback, {os.cpu_count()} CPUs, Python {platform.python_version()}; wrk: "
                f"{c.threads} thread(s), {c.connections} connections, distinct pre-signed bodies; "
                f"paced: wrk open loop, {c.paced_connections} connections"
            ),
            baseline=base,
            shared=shared,
            per_contact=contact,
            paced=paced,
            paced_rate=c.paced_rate,
            token_grants=int(final["token_grants"]),
            accounts=1,
            token_ttl=c.token_ttl,
            service_seconds=service_seconds,
            peak_rss_mb=paced.rss_mb,
            contacts_total=loads.total,
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
    parser.add_argument("--contacts", type=int, default=defaults.contacts)
    parser.add_argument("--per-contact", type=int, default=defaults.per_contact)
    parser.add_argument("--paced-rate", type=float, default=defaults.paced_rate)
    parser.add_argument("--paced-seconds", type=float, default=defaults.paced_seconds)
    parser.add_argument("--baseline-seconds", type=float, default=defaults.baseline_seconds)
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
        help="write a py-spy flame graph of the service during the shared-scope load",
    )
    args = parser.parse_args(argv)
    config = BenchConfig(
        contacts=args.contacts,
        per_contact=args.per_contact,
        paced_rate=args.paced_rate,
        paced_seconds=args.paced_seconds,
        baseline_seconds=args.baseline_seconds,
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
