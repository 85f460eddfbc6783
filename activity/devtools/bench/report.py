"""The benchmark's figures, its targets and how they are printed."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from activity.devtools.bench.load import LATE_MS, LoadResult
from activity.devtools.bench.subscribe import SubscribePhase
from activity.devtools.bench.webhooks import CALLS_TARGET, WebhookPhase, add_webhook_rows
from activity.rokt.token_cache import EARLY_FRACTION, EARLY_MAX_SECONDS

RATIO_TARGET = 0.6
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
    baseline: LoadResult
    shared: Phase
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
        return self.shared.load.rate / self.baseline.rate if self.baseline.rate else 0.0

    @property
    def allowed_grants(self) -> int:
        """One per account per token lifetime; the service refreshes a little early."""
        lifetime = self.token_ttl - min(self.token_ttl * EARLY_FRACTION, EARLY_MAX_SECONDS)
        return self.accounts * max(1, math.ceil(self.service_seconds / lifetime))

    def checks(self) -> dict[str, bool]:
        return {
            "ratio": self.ratio >= RATIO_TARGET,
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


def _mark(ok: bool) -> str:
    return "[green]pass[/green]" if ok else "[red]FAIL[/red]"


def _latency(load: LoadResult) -> str:
    return f"{load.p50_ms:.1f} / {load.p99_ms:.1f} ms"


def print_report(r: BenchReport, console: Console) -> None:
    ok = r.checks()
    table = Table(title="Rokt Calendar Event: /execute benchmark", title_justify="left")
    for name, justify in (
        ("figure", "left"),
        ("service", "right"),
        ("baseline", "right"),
        ("target", "left"),
        ("", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    s, b, c, p = r.shared, r.baseline, r.per_contact, r.paced
    table.add_row(
        f"executes/s, max ({s.contacts:,} contacts)",
        f"{s.load.rate:,.0f}",
        f"{b.rate:,.0f}",
        f"≥ {RATIO_TARGET} × baseline",
        f"{_mark(ok['ratio'])} ({r.ratio:.2f} ×)",
    )
    table.add_row("latency p50 / p99 at max", _latency(s.load), _latency(b), "", "")
    table.add_row(
        "CPU per execute (server process, all threads)",
        f"{s.load.cpu_ms_per_request:.2f} ms",
        f"{b.cpu_ms_per_request:.2f} ms",
        "",
        "",
    )
    table.add_row(
        f"latency p50 / p99 at {p.load.rate:,.0f}/s (paced)",
        _latency(p.load),
        "",
        f"p99 < {PACED_P99_TARGET_MS:.0f} ms at {r.paced_rate:,.0f}/s",
        _mark(ok["paced"]),
    )
    table.add_row(
        "Rokt calls per 1,000 contacts, shared scope",
        f"{s.calls_per_1000:.1f}",
        "",
        f"≤ {SHARED_CALLS_TARGET:.0f}",
        _mark(ok["shared_calls"]),
    )
    table.add_row(
        "Rokt calls per 1,000 contacts, contact scope",
        f"{c.calls_per_1000:,.0f}",
        "",
        "one event per contact",
        "",
    )
    table.add_row(
        "token grants",
        f"{r.token_grants}",
        "",
        f"≤ {r.allowed_grants} ({r.accounts} account, {r.service_seconds:.0f} s run, "
        f"{r.token_ttl:.0f} s tokens)",
        _mark(ok["grants"]),
    )
    table.add_row(
        f"peak RSS (VmHWM) after {r.contacts_total:,} contacts",
        f"{r.peak_rss_mb:.0f} MB",
        "",
        f"< {RSS_TARGET_MB:.0f} MB",
        _mark(ok["rss"]),
    )
    table.add_row(
        "every subscription ID delivered once",
        "yes" if r.delivered_exactly_once else "no",
        "",
        "yes",
        _mark(ok["exactly_once"]),
    )
    if r.subscribe is not None:
        _subscribe_rows(table, r.subscribe, ok["subscribe_once"])
    if r.webhooks is not None:
        add_webhook_rows(table, r.webhooks, _mark)
    console.print(r.environment)
    console.print(table)
    errors = [
        f"{name}: {load.errors} connection errors, {load.non_2xx} non-2xx answers"
        for name, load in (
            ("baseline", b),
            ("shared", s.load),
            ("contact", c.load),
            ("paced", p.load),
        )
        if load.errors or load.non_2xx
    ]
    for line in errors:
        console.print(f"[red]{line}[/red]")
    if errors:
        console.print(
            "Contacts whose execute got no 2xx answer are left out of the exactly-once check "
            "(the service may or may not have accepted them; either is fine, twice is not)."
        )
    if p.load.late:
        console.print(
            f"[red]{p.load.late:,} paced requests left over {LATE_MS:.0f} ms after their slot (at "
            f"most {p.load.max_lag_ms:,.0f} ms) because every connection was busy: their latency "
            "from schedule is longer than the paced figure shows.[/red]"
        )
    if r.paced_rate > s.load.rate:
        console.print(
            f"The paced rate ({r.paced_rate:,.0f}/s) is above the service's maximum here "
            f"({s.load.rate:,.0f}/s): its latency is time spent queueing."
        )
    if r.delivery_problem:
        console.print(f"[red]{r.delivery_problem}[/red]")
    console.print(
        f"Deliveries drained {s.drain_seconds:.1f} s (shared), {c.drain_seconds:.1f} s (contact "
        f"scope) and {p.drain_seconds:.1f} s (paced) after each load ended. Peak RSS after "
        f"each: {s.rss_mb:.0f}, {c.rss_mb:.0f} and {p.rss_mb:.0f} MB."
    )


def _subscribe_rows(table: Table, sub: SubscribePhase, ok: bool) -> None:
    """A short phase of its own: each execute waits for Rokt, so its figures are Rokt-bound."""
    table.add_row(
        f"subscribe executes/s ({sub.contacts:,} contacts, Rokt {sub.latency_ms:.0f} ms, "
        f"{sub.connections} connections)",
        f"{sub.load.rate:,.0f}",
        "",
        "",
        "",
    )
    table.add_row("subscribe latency p50 / p99", _latency(sub.load), "", "", "")
    table.add_row(
        "subscribe: Rokt calls / subscriptions made",
        f"{sub.rokt_calls:,} / {sub.subscriptions:,}",
        "",
        f"{sub.contacts:,} each, all answered 2xx",
        _mark(ok),
    )
