"""GET /settings/deliveries: what happened to the contacts of the session's business unit.

Counts by state per journey and activity, work waiting for a retry (with its attempt count,
latest error and next attempt), the most recent dead items with their reasons, and a chart of
sent, retried and dead items over time drawn as inline SVG on the server (no script, no data
API). Journeys are named when a name is known. Behind the settings login; every query is
scoped to the session's MID.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from activity.admin import sessions
from activity.admin.delivery_chart import chart, utc, window_start
from activity.admin.sso import not_signed_in, render_page
from activity.appkeys import HTTP, JOURNEY_NAMER, STORE
from activity.rokt.outcomes import AUTH_FAILED, GAVE_UP, NOT_CONFIGURED, NOT_FOUND, REJECTED
from activity.storage.delivery_views import JourneyName, RetryingItem, RetrySummary
from activity.storage.inbox import EventCount
from activity.storage.models import DEAD, ITEM_STATES, DeadItem, DeliveryCount

# window name -> (seconds shown, seconds per bar); bars are multiples of the store's buckets.
WINDOWS = {"1h": (3600, 300), "24h": (86400, 3600), "7d": (7 * 86400, 6 * 3600)}
DEFAULT_WINDOW = "24h"
DEAD_SHOWN = 20
RETRYING_SHOWN = 20

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
class Journey:
    """A journey as the page shows it: its name when known, its id always."""

    id: str
    name: str = ""
    version: str = ""

    @property
    def label(self) -> str:
        return self.name or self.id or "—"


@dataclass(frozen=True)
class Row:
    journey: Journey
    activity_id: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def journey_id(self) -> str:
        return self.journey.id

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class DeadRow:
    item: DeadItem
    journey: Journey
    prefix: str
    meaning: str
    when: str


@dataclass(frozen=True)
class RetryRow:
    summary: RetrySummary
    journey: Journey
    next_attempt: str
    last_failed: str


@dataclass(frozen=True)
class WaitingRow:
    item: RetryingItem
    journey: Journey
    next_attempt: str


def journey(names: Mapping[str, JourneyName], journey_id: str) -> Journey:
    known = names.get(journey_id)
    return Journey(journey_id, known.name, known.version) if known else Journey(journey_id)


def rows_by_activity(
    counts: Sequence[DeliveryCount], names: Mapping[str, JourneyName] | None = None
) -> list[Row]:
    rows: dict[tuple[str, str], Row] = {}
    for c in counts:
        key = (c.journey_id, c.activity_id)
        row = rows.get(key)
        if row is None:
            row = rows[key] = Row(journey(names or {}, c.journey_id), c.activity_id)
        row.counts[c.state] = row.counts.get(c.state, 0) + c.count
    return sorted(rows.values(), key=lambda r: (-r.counts.get(DEAD, 0), -r.total, r.journey_id))


def dead_row(item: DeadItem, names: Mapping[str, JourneyName] | None = None) -> DeadRow:
    prefix = item.reason.partition(":")[0].strip()
    meaning = DEAD_MEANINGS.get(prefix, "")
    return DeadRow(
        item,
        journey(names or {}, item.journey_id),
        prefix if meaning else "",
        meaning,
        utc(item.at),
    )


def when_next(at: float, now: float) -> str:
    """The next attempt in UTC, and how far off it is."""
    wait = at - now
    if wait <= 0:
        return f"{utc(at)} (due now)"
    if wait < 90:
        return f"{utc(at)} (in {wait:.0f} s)"
    if wait < 90 * 60:
        return f"{utc(at)} (in {wait / 60:.0f} min)"
    return f"{utc(at)} (in {wait / 3600:.1f} h)"


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
    counts = await store.delivery_counts(mid)
    dead = await store.recent_dead(mid, DEAD_SHOWN)
    summary = await store.retry_summary(mid)
    waiting = await store.retrying_items(mid, RETRYING_SHOWN)
    ids = [c.journey_id for c in counts] + [d.journey_id for d in dead]
    names = await store.journey_names([i for i in ids if i])
    unnamed = [i for i in dict.fromkeys(ids) if i and i not in names]
    if unnamed and JOURNEY_NAMER in request.app:  # asks Marketing Cloud, when connected
        names.update(await request.app[JOURNEY_NAMER].name(request.app[HTTP], store, mid, unnamed))
    context = {
        "title": "Deliveries",
        "identity": admin.identity,
        "states": ITEM_STATES,
        "rows": rows_by_activity(counts, names),
        "retrying": [
            RetryRow(s, journey(names, s.journey_id), when_next(s.next_attempt_at, now),
                     utc(s.last_failed_at))
            for s in summary
        ],
        "waiting": [
            WaitingRow(w, journey(names, w.journey_id), when_next(w.next_attempt_at, now))
            for w in waiting
        ],
        "waiting_total": sum(s.waiting for s in summary),
        "dead": [dead_row(d, names) for d in dead],
        "meanings": DEAD_MEANINGS,
        "chart": chart(await store.outcomes_over_time(mid, since, bucket), since, now, bucket),
        "window": window,
        "windows": list(WINDOWS),
        "event_activity": event_activity(await store.inbox.event_counts(mid)),
        "inbox_dead": await store.inbox.recent_dead(mid, DEAD_SHOWN),
    }  # fmt: skip
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
