"""The Deliveries page's chart: per time bar, items sent, failed attempts put back for a retry,
and items given up, stacked, drawn as SVG on the server (no script, no data API)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from activity.storage.delivery_views import OutcomeBucket

CHART_WIDTH, CHART_HEIGHT, AXIS = 720, 180, 24
# (outcome, label, colour): SLDS brand blue, warning orange, error red.
SERIES = (
    ("sent", "Sent", "#0176d3"),
    ("retried", "Retried", "#dd7a01"),
    ("dead", "Dead", "#ba0517"),
)


@dataclass(frozen=True)
class Segment:
    outcome: str
    colour: str
    y: float
    height: float
    count: int


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    start: str  # UTC, for the tooltip
    sent: int
    retried: int
    dead: int
    segments: tuple[Segment, ...]

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.dead


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    peak: int
    sent: int
    retried: int
    dead: int
    first: str
    last: str
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    axis: int = AXIS
    series: tuple[tuple[str, str, str], ...] = SERIES


def utc(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def window_start(now: float, span: int, bucket: int) -> float:
    """Start of the first whole bar: bars line up with the store's buckets (epoch multiples)."""
    return (math.floor((now - span) / bucket) + 1) * bucket


def chart(buckets: Sequence[OutcomeBucket], since: float, now: float, bucket: int) -> Chart:
    by_start = {int(b.start): b for b in buckets}
    starts = list(range(int(since), int(now) + 1, bucket))
    found = [by_start.get(s, OutcomeBucket(float(s))) for s in starts]
    peak = max([b.sent + b.retried + b.dead for b in found] + [0])
    slot = (CHART_WIDTH - AXIS) / max(1, len(starts))
    plot = CHART_HEIGHT - AXIS
    bars = []
    for i, b in enumerate(found):
        top, segments = float(plot), []
        for outcome, _, colour in SERIES:
            count = int(getattr(b, outcome))
            if not count:
                continue
            height = plot * count / peak
            top -= height
            segments.append(Segment(outcome, colour, round(top, 2), round(height, 2), count))
        bars.append(
            Bar(
                x=round(AXIS + i * slot + slot * 0.1, 2),
                width=round(slot * 0.8, 2),
                start=utc(b.start),
                sent=b.sent,
                retried=b.retried,
                dead=b.dead,
                segments=tuple(segments),
            )
        )
    return Chart(
        bars,
        peak,
        sent=sum(b.sent for b in bars),
        retried=sum(b.retried for b in bars),
        dead=sum(b.dead for b in bars),
        first=bars[0].start if bars else "",
        last=bars[-1].start if bars else "",
    )
