"""The SQLite store's reads for operators (retries, outcomes over time, journey names) and the
retry counting that mark_retry does. A mixin of SQLiteStore (which provides `_query`, `_tx`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from activity.storage.delivery_views import (
    MAX_NAMES_PER_QUERY,
    RETRY,
    WAITING,
    WAITING_O,
    JourneyName,
    OutcomeBucket,
    RetryingItem,
    RetrySummary,
    journey_name_from_row,
    merge_buckets,
    retrying_from_row,
    stats_bucket,
    summary_from_row,
)
from activity.storage.models import DEAD

RETRYING_ITEMS = f"""
SELECT id, journey_id, activity_id, event_id, contact_key, attempts, last_error,
       next_attempt_at, updated_at
FROM outbox WHERE {WAITING} AND (:mid IS NULL OR mid = :mid)
ORDER BY next_attempt_at, id LIMIT :limit
"""
RETRY_SUMMARY = f"""
SELECT g.*, (SELECT o.last_error FROM outbox o
             WHERE {WAITING_O} AND (:mid IS NULL OR o.mid = :mid)
               AND o.journey_id = g.journey_id AND o.activity_id = g.activity_id
             ORDER BY o.updated_at DESC, o.id DESC LIMIT 1) AS last_error
FROM (SELECT journey_id, activity_id, COUNT(*) AS waiting, MAX(attempts) AS max_attempts,
             MIN(next_attempt_at) AS next_attempt_at, MAX(updated_at) AS last_failed_at
      FROM outbox WHERE {WAITING} AND (:mid IS NULL OR mid = :mid)
      GROUP BY journey_id, activity_id) AS g
ORDER BY g.waiting DESC, g.journey_id, g.activity_id
"""
SENT_SERIES = """
SELECT CAST(sent_at / :bucket AS INTEGER) * :bucket AS start, COUNT(*) AS n FROM outbox
WHERE sent_at IS NOT NULL AND sent_at >= :since AND (:mid IS NULL OR mid = :mid)
GROUP BY start
"""
DEAD_SERIES = f"""
SELECT CAST(updated_at / :bucket AS INTEGER) * :bucket AS start, COUNT(*) AS n FROM outbox
WHERE state = '{DEAD}' AND updated_at >= :since AND (:mid IS NULL OR mid = :mid)
GROUP BY start
"""
RETRY_SERIES = f"""
SELECT CAST(bucket_start / :bucket AS INTEGER) * :bucket AS start, SUM(n) AS n
FROM delivery_stats
WHERE outcome = '{RETRY}' AND bucket_start >= :since AND (:mid IS NULL OR mid = :mid)
GROUP BY start
"""
# Run before mark_retry's UPDATE with the same WHERE: counts exactly the rows it changes.
COUNT_RETRIES = f"""
INSERT INTO delivery_stats (mid, bucket_start, outcome, n)
SELECT mid, ?, '{RETRY}', COUNT(*) FROM outbox {{where}} GROUP BY mid
ON CONFLICT (mid, bucket_start, outcome) DO UPDATE SET n = n + excluded.n
"""
PUT_JOURNEY_NAME = """
INSERT INTO journey_names (journey_id, name, journey_key, version, source, updated_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (journey_id) DO UPDATE SET name = excluded.name,
    journey_key = excluded.journey_key, version = excluded.version, source = excluded.source,
    updated_at = excluded.updated_at
"""
PRUNE_STATS = "DELETE FROM delivery_stats WHERE bucket_start < ?"


def count_retries(db: sqlite3.Connection, where: str, args: Sequence[Any], now: float) -> None:
    db.execute(COUNT_RETRIES.format(where=where), (stats_bucket(now), *args))


class SQLiteOperationsMixin:
    _query: Callable[..., Any]
    _tx: Callable[..., Any]

    async def _all(self, sql: str, params: Any) -> list[sqlite3.Row]:
        found: list[sqlite3.Row] = await self._query(sql, params)
        return found

    async def retrying_items(self, mid: str | None, limit: int = 20) -> list[RetryingItem]:
        found = await self._all(RETRYING_ITEMS, {"mid": mid, "limit": limit})
        return [retrying_from_row(r) for r in found]

    async def retry_summary(self, mid: str | None) -> list[RetrySummary]:
        found = await self._all(RETRY_SUMMARY, {"mid": mid})
        return [summary_from_row(r) for r in found]

    async def outcomes_over_time(
        self, mid: str | None, since: float, bucket_seconds: int
    ) -> list[OutcomeBucket]:
        params = {"mid": mid, "since": since, "bucket": bucket_seconds}
        series = []
        for sql in (SENT_SERIES, RETRY_SERIES, DEAD_SERIES):
            found = await self._all(sql, params)
            series.append([(float(r["start"]), int(r["n"])) for r in found])
        return merge_buckets(*series)

    async def put_journey_name(self, journey: JourneyName) -> None:
        j = journey
        values = (j.journey_id, j.name, j.journey_key, j.version, j.source, j.updated_at)
        await self._tx(lambda db: db.execute(PUT_JOURNEY_NAME, values))

    async def journey_names(self, journey_ids: Sequence[str]) -> dict[str, JourneyName]:
        wanted = list(dict.fromkeys(journey_ids))[:MAX_NAMES_PER_QUERY]
        if not wanted:
            return {}
        marks = ", ".join("?" * len(wanted))
        found = await self._all(
            f"SELECT * FROM journey_names WHERE journey_id IN ({marks})", wanted
        )
        return {r["journey_id"]: journey_name_from_row(r) for r in found}
