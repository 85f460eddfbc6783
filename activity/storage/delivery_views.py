"""What the Deliveries page and /metrics read besides counts by state: work waiting for a
retry, outcomes over time, and journey names."""

from __future__ import annotations

import math
from dataclasses import dataclass

from activity.storage.models import QUEUED
from activity.storage.rows import Row, record_from_row

# Retries are counted in buckets this long; the page's bars are whole multiples of it.
STATS_BUCKET_SECONDS = 300
RETRY = "retry"
# Where a journey's name came from.
FROM_LIFECYCLE = "lifecycle"
FROM_MARKETING_CLOUD = "marketing_cloud"
# An item waiting for a retry (what both backends' retry queries select), and the same for an
# outbox aliased "o".
WAITING = f"state = '{QUEUED}' AND last_error <> '' AND attempts > 0"
WAITING_O = f"o.state = '{QUEUED}' AND o.last_error <> '' AND o.attempts > 0"
MAX_NAMES_PER_QUERY = 500


def stats_bucket(at: float) -> float:
    return float(math.floor(at / STATS_BUCKET_SECONDS) * STATS_BUCKET_SECONDS)


@dataclass(frozen=True)
class RetryingItem:
    """An item whose last attempt failed and that waits for its next one."""

    id: int
    journey_id: str
    activity_id: str
    event_id: str
    contact_key: str
    attempts: int
    last_error: str
    next_attempt_at: float
    updated_at: float


@dataclass(frozen=True)
class RetrySummary:
    """Items waiting for a retry in one journey's activity."""

    journey_id: str
    activity_id: str
    waiting: int
    max_attempts: int
    next_attempt_at: float
    last_error: str  # of the item that failed most recently
    last_failed_at: float


@dataclass(frozen=True)
class OutcomeBucket:
    start: float
    sent: int = 0
    retried: int = 0  # failed attempts scheduled for a retry
    dead: int = 0


@dataclass(frozen=True)
class JourneyName:
    journey_id: str
    name: str
    journey_key: str = ""
    version: str = ""
    source: str = FROM_LIFECYCLE
    updated_at: float = 0.0


def merge_buckets(
    sent: list[tuple[float, int]], retried: list[tuple[float, int]], dead: list[tuple[float, int]]
) -> list[OutcomeBucket]:
    """Three (bucket start, count) series into one list, oldest first."""
    starts = sorted({s for s, _ in sent} | {s for s, _ in retried} | {s for s, _ in dead})
    s, r, d = dict(sent), dict(retried), dict(dead)
    return [OutcomeBucket(x, s.get(x, 0), r.get(x, 0), d.get(x, 0)) for x in starts]


def retrying_from_row(row: Row) -> RetryingItem:
    return record_from_row(RetryingItem, row)


def summary_from_row(row: Row) -> RetrySummary:
    return RetrySummary(
        row["journey_id"], row["activity_id"], int(row["waiting"]), int(row["max_attempts"]),
        float(row["next_attempt_at"]), row["last_error"] or "", float(row["last_failed_at"]),
    )  # fmt: skip


def journey_name_from_row(row: Row) -> JourneyName:
    return record_from_row(JourneyName, row)
