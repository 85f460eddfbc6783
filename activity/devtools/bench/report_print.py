"""The benchmark's report printed: the figures of report.py against their targets, as rich
tables."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from activity.devtools.bench.bodies import LARGE, SMALL
from activity.devtools.bench.load import LATE_MS, LoadResult
from activity.devtools.bench.report import (
    PACED_P99_TARGET_MS,
    RATIO_TARGET,
    RSS_TARGET_MB,
    SHARED_CALLS_TARGET,
    WRK_SHARE_LIMIT,
    BenchReport,
)
from activity.devtools.bench.rounds import (
    FLOOR,
    SERVICE,
    figures,
    floor_n,
    ratio,
    service_n,
)
from activity.devtools.bench.subscribe import SubscribePhase
from activity.devtools.bench.webhooks import add_webhook_rows


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
        ("floor", "right"),
        ("target", "left"),
        ("", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    s, c, p = r.shared, r.per_contact, r.paced
    service, floor = figures(r.rounds, SERVICE, SMALL), figures(r.rounds, FLOOR, SMALL)
    table.add_row(
        f"executes/s, max, ~1 KB bodies (median of {len(service.rounds)} rounds)",
        f"{service.rate:,.0f}",
        f"{floor.rate:,.0f}",
        f"≥ {RATIO_TARGET} × floor",
        f"{_mark(ok['ratio'])} ({r.ratio:.2f} ×)",
    )
    table.add_row(
        "latency p50 / p99 at max",
        f"{service.p50_ms:.1f} / {service.p99_ms:.1f} ms",
        f"{floor.p50_ms:.1f} / {floor.p99_ms:.1f} ms",
        "",
        "",
    )
    table.add_row(
        "CPU per execute (server process, all threads)",
        f"{service.cpu_ms:.3f} ms",
        f"{floor.cpu_ms:.3f} ms",
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
        f"≤ {r.allowed_grants} ({r.accounts} account, {r.service_processes} processes, "
        f"{r.service_seconds:.0f} s run, "
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
    console.print(rounds_table(r))
    for server in r.wrk_bound:
        console.print(
            f"[red]{server}: wrk used over {WRK_SHARE_LIMIT:.0%} of a core per thread; "
            "its figure may be the load generator's (try --threads 2)[/red]"
        )
    errors = [
        f"{name}: {load.errors} connection errors, {load.non_2xx} non-2xx answers"
        for name, load in (
            *((f"{x.server} {x.size}", x.load) for x in r.rounds),
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
    if r.paced_rate > service.rate:
        console.print(
            f"The paced rate ({r.paced_rate:,.0f}/s) is above the service's maximum here "
            f"({service.rate:,.0f}/s): its latency is time spent queueing."
        )
    if r.delivery_problem:
        console.print(f"[red]{r.delivery_problem}[/red]")
    console.print(
        f"Deliveries drained {s.drain_seconds:.1f} s (~1 KB rounds, at most), "
        f"{c.drain_seconds:.1f} s (contact "
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


def rounds_table(r: BenchReport) -> Table:
    """Every server's rounds side by side: rate, CPU per execute, wrk's own CPU, ratios."""
    table = Table(
        title="Same run, alternating timed rounds (medians; no body sent twice)",
        title_justify="left",
    )
    for name in (
        "server",
        "bodies",
        "rounds",
        "executes/s (median; each round)",
        "CPU/execute",
        "wrk CPU/request",
        "wrk CPU, max",
        "p50 / p99",
    ):
        table.add_column(name, justify="left" if name in ("server", "bodies") else "right")
    servers = (SERVICE, FLOOR, service_n(r.workers), floor_n(r.workers))
    for size in (SMALL, LARGE):
        for server in servers:
            f = figures(r.rounds, server, size)
            if not f.rounds:
                continue
            table.add_row(
                server,
                size,
                str(len(f.rounds)),
                f"{f.rate:,.0f} ({', '.join(f'{x:,.0f}' for x in f.rates)})",
                f"{f.cpu_ms:.3f} ms",
                f"{f.wrk_us:.0f} µs",
                f"{f.wrk_share:.0%} of a core",
                f"{f.p50_ms:.1f} / {f.p99_ms:.1f} ms",
            )
    lines = [(SMALL, SERVICE, FLOOR), (LARGE, SERVICE, FLOOR)]
    lines += [
        (SMALL, service_n(r.workers), FLOOR),
        (SMALL, service_n(r.workers), floor_n(r.workers)),
    ]
    for size, mine, theirs in lines:
        if figures(r.rounds, mine, size).rounds and figures(r.rounds, theirs, size).rounds:
            table.add_row(
                f"{mine} / {theirs}", size, "", f"{ratio(r.rounds, size, mine, theirs):.2f} ×",
                "", "", "", "",
            )  # fmt: skip
    return table
