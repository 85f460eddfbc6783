"""What the demo found: figures from its own timings, the outbox and the fake Rokt's record,
and the check that every accepted contact reached Rokt exactly once."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from activity.devtools.fake_rokt import RecordedRequest
from activity.journey.execution import QUEUED, SKIPPED_NO_SUBSCRIPTION
from activity.storage.models import DEAD, SENT

if TYPE_CHECKING:
    from activity.devtools.demo_contacts import Contact

ACCEPTED_STATUS = 202
SHOWN = 3


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def delivered_ids(requests: Iterable[RecordedRequest]) -> Counter[str]:
    """How often each subscription ID was in a create call that Rokt accepted."""
    seen: Counter[str] = Counter()
    for r in requests:
        if r.endpoint == "create" and r.status == ACCEPTED_STATUS and isinstance(r.json, dict):
            seen.update(str(s) for s in r.json.get("subscriptionIds") or ())
    return seen


def check_deliveries(expected: Iterable[str], delivered: Mapping[str, int]) -> list[str]:
    """Problems, if any: an expected subscription ID missing or sent twice, or an unexpected one."""
    wanted = set(expected)
    missing = sorted(s for s in wanted if delivered.get(s, 0) == 0)
    twice = sorted(s for s in wanted if delivered.get(s, 0) > 1)
    unexpected = sorted(s for s, n in delivered.items() if n and s not in wanted)
    problems = []
    for label, ids in (
        ("accepted but never delivered", missing),
        ("delivered more than once", twice),
        ("delivered but never accepted", unexpected),
    ):
        if ids:
            problems.append(f"{len(ids)} subscription ID(s) {label}: {', '.join(ids[:SHOWN])}")
    return problems


@dataclass(frozen=True)
class Timeline:
    """Monotonic instants: first execute sent, last execute answered, deliveries drained."""

    started: float
    executes_done: float
    finished: float


@dataclass(frozen=True)
class DemoReport:
    contacts: int
    accepted: int
    delivered: int
    skipped: int
    other: int  # invalid or not configured: never expected in the demo
    dead: int
    rokt_calls: int
    token_grants: int
    executes_per_second: float
    p50_ms: float
    p99_ms: float
    last_delivery_s: float
    last_delivery_after_executes_s: float
    replays: int
    replays_same_answer: int
    replay_sends: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @classmethod
    def build(
        cls,
        *,
        contacts: Sequence[Contact],
        outcome_answers: Mapping[int, Mapping[str, Any]],
        replay_answers: Sequence[tuple[int, Mapping[str, Any]]],
        latencies: Sequence[float],
        failures: Sequence[str],
        counts: Mapping[str, int],
        requests: Sequence[RecordedRequest],
        token_grants: int,
        timeline: Timeline,
    ) -> DemoReport:
        started, executes_done, finished = (
            timeline.started,
            timeline.executes_done,
            timeline.finished,
        )
        status = {i: str(a.get("roktStatus", "")) for i, a in outcome_answers.items()}
        accepted = [i for i, s in status.items() if s == QUEUED]
        delivered = delivered_ids(requests)
        problems = list(failures)
        problems += check_deliveries(
            (s for i in accepted for s in contacts[i].subscription_ids), delivered
        )
        if counts.get(SENT, 0) != len(accepted):
            problems.append(f"{counts.get(SENT, 0)} outbox items sent for {len(accepted)} accepted")
        replayed = {i for i, _ in replay_answers}
        differing = [i for i, a in replay_answers if dict(a) != dict(outcome_answers.get(i, {}))]
        if differing:
            problems.append(f"{len(differing)} JB retries answered differently from the first call")
        creates = [r for r in requests if r.endpoint == "create" and r.status == ACCEPTED_STATUS]
        last = max((r.at for r in creates), default=finished)
        return cls(
            contacts=len(contacts),
            accepted=len(accepted),
            delivered=counts.get(SENT, 0),
            skipped=sum(1 for s in status.values() if s == SKIPPED_NO_SUBSCRIPTION),
            other=sum(1 for s in status.values() if s not in (QUEUED, SKIPPED_NO_SUBSCRIPTION)),
            dead=counts.get(DEAD, 0),
            rokt_calls=sum(1 for r in requests if r.endpoint != "token"),
            token_grants=token_grants,
            executes_per_second=len(latencies) / max(executes_done - started, 1e-9),
            p50_ms=percentile(latencies, 50) * 1000,
            p99_ms=percentile(latencies, 99) * 1000,
            last_delivery_s=max(0.0, last - started),
            last_delivery_after_executes_s=max(0.0, last - executes_done),
            replays=len(replay_answers),
            replays_same_answer=len(replay_answers) - len(differing),
            replay_sends=sum(
                delivered.get(s, 0) - (1 if i in accepted else 0)
                for i in replayed
                for s in contacts[i].subscription_ids
            ),
            problems=tuple(problems),
        )


def print_report(report: DemoReport, console: Console) -> None:
    table = Table(title="Rokt Calendar Event: demo summary", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("contacts", f"{report.contacts:,}"),
        ("accepted (queued)", f"{report.accepted:,}"),
        ("delivered to Rokt", f"{report.delivered:,}"),
        ("skipped (no subscription)", f"{report.skipped:,}"),
        ("invalid or not configured", f"{report.other:,}"),
        ("dead", f"{report.dead:,}"),
        ("Rokt calls", f"{report.rokt_calls:,}"),
        ("token grants", f"{report.token_grants:,}"),
        ("executes per second", f"{report.executes_per_second:,.0f}"),
        ("execute latency p50 / p99", f"{report.p50_ms:.1f} ms / {report.p99_ms:.1f} ms"),
        ("time until the last delivery", f"{report.last_delivery_s:.2f} s"),
        ("  of which after the last execute", f"{report.last_delivery_after_executes_s:.2f} s"),
        (
            "JB retries replayed / same answer",
            f"{report.replays} / {report.replays_same_answer}",
        ),
        ("new sends caused by retries", f"{report.replay_sends}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    if report.ok:
        ok = "every accepted contact's subscription IDs reached Rokt exactly once"
        console.print(f"[green]OK[/green]: {ok}.")
    else:
        for problem in report.problems:
            console.print(f"[red]FAILED[/red]: {problem}")
