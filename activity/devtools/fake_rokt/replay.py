"""Realistic timing for the fake Rokt: latency drawn from a long-tailed distribution, and
replay of a recorded session's answers with the delays they had.

A record file (`rokt-activity fake-rokt --record FILE`) holds one JSON object per request:
endpoint, status and the delay the answer took. `--replay FILE` answers the same endpoints,
in the same order, with those statuses after those delays (a 2xx is answered normally, so
the state still changes), then answers normally again.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from activity.devtools.fake_rokt.state import FakeRokt

Z_99 = 2.326  # the standard normal's 99th percentile


def lognormal_latency(
    median_ms: float, p99_ms: float, rng: random.Random | None = None
) -> Callable[[], float]:
    """Seconds per answer: half under `median_ms`, one in a hundred over `p99_ms`."""
    if median_ms <= 0 or p99_ms < median_ms:
        raise ValueError("expected 0 < median <= p99")
    draw = rng or random.Random()
    mu = math.log(median_ms / 1000)
    sigma = math.log(p99_ms / median_ms) / Z_99
    return lambda: draw.lognormvariate(mu, sigma)


def parse_latency(text: str) -> tuple[float, float]:
    """`MEDIAN` or `MEDIAN,P99` in milliseconds (P99 defaults to four times the median)."""
    median, _, p99 = text.partition(",")
    m = float(median)
    return m, float(p99) if p99 else 4 * m


def load_records(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def replay(fake: FakeRokt, records: Iterable[dict[str, Any]]) -> int:
    """Script `fake` to answer like the recorded session; returns how many answers."""
    n = 0
    for record in records:
        status = int(record["status"])
        fake.script(
            str(record["endpoint"]),
            [None if 200 <= status < 300 else status],
            delay=float(record.get("delay", 0.0)),
        )
        n += 1
    return n
