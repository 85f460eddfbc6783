"""Timed rounds: the service and the floor in turn, same bodies' shape, medians compared.

A round is one timed wrk run against one server with bodies it has never seen. Rounds
alternate (service, floor, service, floor, ...) so a slower stretch of a shared machine
falls on both; each figure is the median of its rounds, and each ratio compares medians
measured in the same run.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from activity.devtools.bench.load import LoadResult

SERVICE, FLOOR = "service", "floor"


def service_n(workers: int) -> str:
    return f"service × {workers} workers"


def floor_n(workers: int) -> str:
    return f"floor × {workers} processes"


@dataclass(frozen=True)
class Round:
    server: str  # SERVICE, FLOOR, service_n(N), floor_n(N)
    size: str  # bodies.SMALL or bodies.LARGE
    load: LoadResult
    rokt_calls: int = 0  # the service's, for this round's contacts
    accepted: int = 0  # contacts queued (with a subscription ID) among those sent
    drain_seconds: float = 0.0


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


@dataclass(frozen=True)
class Figures:
    """One server's rounds at one body size."""

    server: str
    size: str
    rounds: tuple[Round, ...]

    @property
    def rate(self) -> float:
        return _median([r.load.rate for r in self.rounds])

    @property
    def rates(self) -> list[float]:
        return [r.load.rate for r in self.rounds]

    @property
    def cpu_ms(self) -> float:
        """Median CPU per execute, the server's processes, all threads."""
        return _median([r.load.cpu_ms_per_request for r in self.rounds])

    @property
    def wrk_share(self) -> float:
        """The highest share of a core wrk used in any of these rounds."""
        return max((r.load.wrk_cpu_share for r in self.rounds), default=0.0)

    @property
    def wrk_us(self) -> float:
        """Median wrk CPU per request, microseconds."""
        return _median(
            [1e6 * r.load.wrk_cpu_seconds / r.load.requests for r in self.rounds if r.load.requests]
        )

    @property
    def p50_ms(self) -> float:
        return _median([r.load.p50_ms for r in self.rounds])

    @property
    def p99_ms(self) -> float:
        return _median([r.load.p99_ms for r in self.rounds])


def figures(rounds: Sequence[Round], server: str, size: str) -> Figures:
    return Figures(server, size, tuple(r for r in rounds if (r.server, r.size) == (server, size)))


def ratio(rounds: Sequence[Round], size: str, server: str, against: str) -> float:
    """Median rate of `server` over median rate of `against`, one body size."""
    mine, theirs = figures(rounds, server, size).rate, figures(rounds, against, size).rate
    return mine / theirs if theirs else 0.0


def combined(rounds: Sequence[Round]) -> LoadResult:
    """Several rounds as one load: totals, and the median of their latencies."""
    loads = [r.load for r in rounds]
    return LoadResult(
        requests=sum(x.requests for x in loads),
        seconds=sum(x.seconds for x in loads),
        errors=sum(x.errors for x in loads),
        non_2xx=sum(x.non_2xx for x in loads),
        p50_ms=_median([x.p50_ms for x in loads]),
        p99_ms=_median([x.p99_ms for x in loads]),
        server_cpu_seconds=sum(x.server_cpu_seconds for x in loads),
        sent=sum(x.sent for x in loads),
        wrk_cpu_seconds=sum(x.wrk_cpu_seconds for x in loads),
    )
