"""The benchmark's figures and its targets (report_print.py prints them)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from activity.devtools.bench.bodies import SMALL
from activity.devtools.bench.load import LoadResult
from activity.devtools.bench.rounds import (
    FLOOR,
    SERVICE,
    Round,
    ratio,
)
from activity.devtools.bench.subscribe import SubscribePhase
from activity.devtools.bench.webhooks import CALLS_TARGET, WebhookPhase
from activity.rokt.token_cache import EARLY_FRACTION, EARLY_MAX_SECONDS

RATIO_TARGET = 0.7  # the service over the floor, one process each, ~1 KB bodies
WRK_SHARE_LIMIT = 0.9  # above this share of a core per wrk thread, wrk may set the pace
PACED_P99_TARGET_MS = 50.0
SHARED_CALLS_TARGET = 10.0
RSS_TARGET_MB = 150.0


@dataclass(frozen=True)
class Phase:
    """One load against the service, and what reached the fake Rokt because of it."""

    load: LoadResult
    contacts: int
    accepted: int  # contacts with a subscription ID, hence queued
    rokt_calls: int
    drain_seconds: float  # from the end of the load until Rokt had every subscription ID
    rss_mb: float = 0.0  # the service's VmHWM after this phase

    @property
    def calls_per_1000(self) -> float:
        return 1000 * self.rokt_calls / self.accepted if self.accepted else 0.0


@dataclass(frozen=True)
class BenchReport:
    environment: str
    rounds: tuple[Round, ...]
    workers: int
    shared: Phase  # the ~1 KB service rounds together
    per_contact: Phase
    paced: Phase
    paced_rate: float
    token_grants: int
    accounts: int
    token_ttl: float
    service_seconds: float  # how long the service ran, for the token grant allowance
    peak_rss_mb: float
    contacts_total: int
    delivered_exactly_once: bool
    delivery_problem: str = ""
    subscribe: SubscribePhase | None = None
    webhooks: WebhookPhase | None = None

    @property
    def subscribed_once(self) -> bool:
        """Every subscribe execute called Rokt once, and no execute failed."""
        if self.subscribe is None:
            return True
        load = self.subscribe.load
        return self.subscribe.once_each and not load.errors and not load.non_2xx

    @property
    def ratio(self) -> float:
        """Single process, ~1 KB: the service's median rate over the floor's."""
        return ratio(self.rounds, SMALL, SERVICE, FLOOR)

    @property
    def wrk_bound(self) -> list[str]:
        """Servers in whose rounds wrk used nearly a core: their figure may be wrk's."""
        limit = WRK_SHARE_LIMIT * self.threads
        return sorted({r.server for r in self.rounds if r.load.wrk_cpu_share > limit})

    threads: int = 1
    # Processes that served Rokt calls: each keeps its own token (one, then N workers).
    service_processes: int = 1

    @property
    def allowed_grants(self) -> int:
        """One per account per token lifetime; the service refreshes a little early."""
        lifetime = self.token_ttl - min(self.token_ttl * EARLY_FRACTION, EARLY_MAX_SECONDS)
        per_process = self.accounts * max(1, math.ceil(self.service_seconds / lifetime))
        return per_process * self.service_processes

    def checks(self) -> dict[str, bool]:
        return {
            "ratio": self.ratio >= RATIO_TARGET,
            "wrk": not self.wrk_bound,
            # A late send waited for a free connection, which wrk's latency leaves out.
            "paced": self.paced.load.p99_ms < PACED_P99_TARGET_MS and not self.paced.load.late,
            "shared_calls": self.shared.calls_per_1000 <= SHARED_CALLS_TARGET,
            "grants": self.token_grants <= self.allowed_grants,
            "rss": self.peak_rss_mb < RSS_TARGET_MB,
            "exactly_once": self.delivered_exactly_once,
            "subscribe_once": self.subscribed_once,
            "webhook_calls": self.webhooks is None or self.webhooks.calls_per_1000 <= CALLS_TARGET,
            "webhooks_once": self.webhooks is None or self.webhooks.exact,
        }

    @property
    def ok(self) -> bool:
        return all(self.checks().values())
