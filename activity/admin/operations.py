"""GET /settings/deliveries: what happened to the contacts of the session's business unit.

Counts by state per journey and activity, the most recent dead items with their reasons, and
a chart of deliveries over time drawn as inline SVG on the server (no script, no data API).
Behind the settings login; every query is scoped to the session's MID.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from activity.admin import sessions
from activity.admin.sso import not_signed_in, render_page
from activity.appkeys import STORE
from activity.rokt.outcomes import AUTH_FAILED, GAVE_UP, NOT_CONFIGURED, NOT_FOUND, REJECTED
from activity.storage.inbox import EventCount
from activity.storage.models import DEAD, ITEM_STATES, DeadItem, DeliveryCount

# window name -> (seconds shown, seconds per bar)
WINDOWS = {"1h": (3600, 300), "24h": (86400, 3600), "7d": (7 * 86400, 6 * 3600)}
DEFAULT_WINDOW = "24h"
DEAD_SHOWN = 20
CHART_WIDTH, CHART_HEIGHT, AXIS = 720, 180, 24

DEAD_MEANINGS = {
    REJECTED: "Rokt refused the item itself (HTTP 4xx): fix the contact's data or the "
    "activity's configuration, then send the contact through again.",
    NOT_CONFIGURED: "The business unit's Rokt settings were deleted while the item waited.",
    AUTH_FAILED: "Rokt kept refusing the OAuth client ID and secret: fix them on the "
    "settings page.",
    GAVE_UP: "Rokt stayed unreachable or failing for every attempt (about two hours).",
    NOT_FOUND: "Rokt answered 404 to a cancel or remove: most likely the account code in the "
    "settings is wrong, or the event was never created (or already deleted) under that code.",
}


@dataclass(frozen=True)
class Row:
    journey_id: str
    activity_id: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    start: str  # UTC, for the tooltip and the table


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    peak: int
    total: int
    first: str
    last: str
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    axis: int = AXIS


@dataclass(frozen=True)
class DeadRow:
    item: DeadItem
    prefix: str
    meaning: str
    when: str


def rows_by_activity(counts: Sequence[DeliveryCount]) -> list[Row]:
    rows: dict[tuple[str, str], Row] = {}
    for c in counts:
        row = rows.setdefault((c.journey_id, c.activity_id), Row(c.journey_id, c.activity_id))
        row.counts[c.state] = row.counts.get(c.state, 0) + c.count
    return sorted(rows.values(), key=lambda r: (-r.counts.get(DEAD, 0), -r.total, r.journey_id))


def dead_row(item: DeadItem) -> DeadRow:
    prefix = item.reason.partition(":")[0].strip()
    meaning = DEAD_MEANINGS.get(prefix, "")
    return DeadRow(item, prefix if meaning else "", meaning, _utc(item.at))


def window_start(now: float, span: int, bucket: int) -> float:
    """Start of the first whole bar: bars line up with the store's buckets (epoch multiples)."""
    return (math.floor((now - span) / bucket) + 1) * bucket


def chart(series: Sequence[tuple[float, int]], since: float, now: float, bucket: int) -> Chart:
    by_start = {int(start): n for start, n in series}
    starts = list(range(int(since), int(now) + 1, bucket))
    peak = max([by_start.get(s, 0) for s in starts] + [0])
    slot = (CHART_WIDTH - AXIS) / max(1, len(starts))
    plot = CHART_HEIGHT - AXIS
    bars = []
    for i, start in enumerate(starts):
        count = by_start.get(start, 0)
        height = plot * count / peak if peak else 0.0
        bars.append(
            Bar(
                x=round(AXIS + i * slot + slot * 0.1, 2),
                y=round(plot - height, 2),
                width=round(slot * 0.8, 2),
                height=round(height, 2),
                count=count,
                start=_utc(start),
            )
        )
    first = bars[0].start if bars else ""
    last = bars[-1].start if bars else ""
    return Chart(bars, peak, sum(b.count for b in bars), first, last)


def _utc(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


async def show(request: web.Request) -> web.StreamResponse:
    admin = await sessions.current(request)
    if admin is None:
        return not_signed_in(request)
    mid = admin.identity.mid
    window = request.query.get("window", DEFAULT_WINDOW)
    if window not in WINDOWS:
        window = DEFAULT_WINDOW
    span, bucket = WINDOWS[window]
    now = time.time()
    since = window_start(now, span, bucket)
    store = request.app[STORE]
    context = {
        "title": "Deliveries",
        "identity": admin.identity,
        "states": ITEM_STATES,
        "rows": rows_by_activity(await store.delivery_counts(mid)),
        "dead": [dead_row(d) for d in await store.recent_dead(mid, DEAD_SHOWN)],
        "meanings": DEAD_MEANINGS,
        "chart": chart(await store.deliveries_over_time(mid, since, bucket), since, now, bucket),
        "window": window,
        "windows": list(WINDOWS),
        "event_activity": event_activity(await store.inbox.event_counts(mid)),
        "inbox_dead": await store.inbox.recent_dead(mid, DEAD_SHOWN),
    }
    return render_page(request, "operations.html", context)


EVENT_COLUMNS = {
    "SubscriptionEventAdded": "added",
    "SubscriptionEventUpdated": "updated",
    "SubscriptionEventRemoved": "removed",
    "SubscriptionEventDeleted": "deleted",
}


def event_activity(counts: Sequence[EventCount]) -> list[dict[str, Any]]:
    """Per calendar event, how many subscribers Rokt's webhooks said added, removed... it."""
    rows: dict[str, dict[str, Any]] = {}
    for c in counts:
        row = rows.setdefault(c.event_id, {"event_id": c.event_id})
        column = EVENT_COLUMNS.get(c.event_type)
        if column:
            row[column] = row.get(column, 0) + c.subscribers
    return list(rows.values())
