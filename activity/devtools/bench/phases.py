"""The timed parts of a benchmark run: one round against the floor or the service, and one
phase (contact scope, paced, subscribe), each followed by what Rokt received. A mixin of Run,
which owns the processes, URLs and counts named below."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

import aiohttp
from rich.console import Console

from activity.devtools.bench import subscribe
from activity.devtools.bench.load import LoadResult, sent_indices
from activity.devtools.bench.pools import BenchConfig, Pools, accepted
from activity.devtools.bench.procs import (
    Processes,
    cpu_seconds,
    drain,
    peak_rss_mb,
    rokt_stats,
    stop,
    tree_cpu_seconds,
    wait_ready,
)
from activity.devtools.bench.report import Phase
from activity.devtools.bench.rounds import FLOOR, SERVICE, Round, floor_n
from activity.devtools.bench.subscribe import SubscribePhase
from activity.devtools.demo_contacts import Contact


class Phases:
    config: BenchConfig
    console: Console
    procs: Processes
    env: dict[str, str]
    baseline_url: str
    service_url: str
    rokt_url: str
    service_pid: int
    confirmed: int
    possible: int
    pools: Pools

    if TYPE_CHECKING:

        def port(self, url: str) -> str: ...

        def wrk(
            self, url: str, name: str, *, exhaust: bool, seconds: float = 0.0, paced: bool = False
        ) -> Awaitable[LoadResult]: ...

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
