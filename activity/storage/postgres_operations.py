"""The PostgreSQL store's reads for operators (retries, outcomes over time, journey names) and
the retry counting that mark_retry does. A mixin of PostgresStore (which provides `_fetch`,
`_tx`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
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
FROM outbox WHERE {WAITING} AND ($1::text IS NULL OR mid = $1)
ORDER BY next_attempt_at, id LIMIT $2
"""
RETRY_SUMMARY = f"""
SELECT g.*, (SELECT o.last_error FROM outbox o
             WHERE {WAITING_O} AND ($1::text IS NULL OR o.mid = $1)
               AND o.journey_id = g.journey_id AND o.activity_id = g.activity_id
             ORDER BY o.updated_at DESC, o.id DESC LIMIT 1) AS last_error
FROM (SELECT journey_id, activity_id, COUNT(*) AS waiting, MAX(attempts) AS max_attempts,
             MIN(next_attempt_at) AS next_attempt_at, MAX(updated_at) AS last_failed_at
      FROM outbox WHERE {WAITING} AND ($1::text IS NULL OR mid = $1)
      GROUP BY journey_id, activity_id) AS g
ORDER BY g.waiting DESC, g.journey_id, g.activity_id
"""
# $1 mid, $2 since, $3 bucket seconds
SENT_SERIES = """
SELECT floor(sent_at / $3) * $3 AS start, COUNT(*) AS n FROM outbox
WHERE sent_at IS NOT NULL AND sent_at >= $2 AND ($1::text IS NULL OR mid = $1)
GROUP BY start
"""
DEAD_SERIES = f"""
SELECT floor(updated_at / $3) * $3 AS start, COUNT(*) AS n FROM outbox
WHERE state = '{DEAD}' AND updated_at >= $2 AND ($1::text IS NULL OR mid = $1)
GROUP BY start
"""
RETRY_SERIES = f"""
SELECT floor(bucket_start / $3) * $3 AS start, SUM(n) AS n FROM delivery_stats
WHERE outcome = '{RETRY}' AND bucket_start >= $2 AND ($1::text IS NULL OR mid = $1)
GROUP BY start
"""
# Run before mark_retry's UPDATE with the same WHERE: counts exactly the rows it changes.
# `{where}` numbers its parameters from $2; $1 is the bucket.
COUNT_RETRIES = f"""
INSERT INTO delivery_stats (mid, bucket_start, outcome, n)
SELECT mid, $1::double precision, '{RETRY}', COUNT(*) FROM outbox {{where}} GROUP BY mid
ON CONFLICT (mid, bucket_start, outcome) DO UPDATE SET n = delivery_stats.n + EXCLUDED.n
"""
PUT_JOURNEY_NAME = """
INSERT INTO journey_names (journey_id, name, journey_key, version, source, updated_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (journey_id) DO UPDATE SET name = EXCLUDED.name,
    journey_key = EXCLUDED.journey_key, version = EXCLUDED.version, source = EXCLUDED.source,
    updated_at = EXCLUDED.updated_at
"""
JOURNEY_NAMES = "SELECT * FROM journey_names WHERE journey_id = ANY($1::text[])"
PRUNE_STATS = "DELETE FROM delivery_stats WHERE bucket_start < $1"


async def count_retries(conn: Any, where: str, args: Sequence[Any], now: float) -> None:
    await conn.execute(COUNT_RETRIES.format(where=where), stats_bucket(now), *args)


class PostgresOperationsMixin:
    _fetch: Callable[..., Any]
    _tx: Callable[[], AbstractAsyncContextManager[Any]]

    async def _all(self, query: str, *args: Any) -> list[Any]:
        found: list[Any] = await self._fetch(query, *args)
        return found

    async def retrying_items(self, mid: str | None, limit: int = 20) -> list[RetryingItem]:
        return [retrying_from_row(r) for r in await self._all(RETRYING_ITEMS, mid, limit)]

    async def retry_summary(self, mid: str | None) -> list[RetrySummary]:
        return [summary_from_row(r) for r in await self._all(RETRY_SUMMARY, mid)]

    async def outcomes_over_time(
        self, mid: str | None, since: float, bucket_seconds: int
    ) -> list[OutcomeBucket]:
        series = []
        for query in (SENT_SERIES, RETRY_SERIES, DEAD_SERIES):
            found = await self._all(query, mid, since, float(bucket_seconds))
            series.append([(float(r["start"]), int(r["n"])) for r in found])
        return merge_buckets(*series)

    async def put_journey_name(self, journey: JourneyName) -> None:
        j = journey
        async with self._tx() as conn:
            await conn.execute(
                PUT_JOURNEY_NAME, j.journey_id, j.name, j.journey_key, j.version, j.source,
                j.updated_at,
            )  # fmt: skip

    async def journey_names(self, journey_ids: Sequence[str]) -> dict[str, JourneyName]:
        wanted = list(dict.fromkeys(journey_ids))[:MAX_NAMES_PER_QUERY]
        if not wanted:
            return {}
        return {
            r["journey_id"]: journey_name_from_row(r)
            for r in await self._all(JOURNEY_NAMES, wanted)
        }
