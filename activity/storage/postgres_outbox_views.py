"""The PostgreSQL store's reads of the outbox for the Deliveries page and the running-journey
views (counts, dead items, sends over time, depth, one activity's figures), and the requeue of
an activity's dead items. A mixin of PostgresStore (which provides `_fetch` and `_tx`)."""

from __future__ import annotations

from activity.storage import postgres_queries as sql
from activity.storage import rows, running_queries
from activity.storage.models import ActivityStats, AuditEntry, DeadItem, DeliveryCount, OutboxDepth
from activity.storage.postgres_settings import insert_audit
from activity.storage.postgres_setup import PostgresAccess

RUNNING = running_queries.queries("postgres")


class PostgresOutboxViewsMixin(PostgresAccess):
    async def delivery_counts(self, mid: str | None = None) -> list[DeliveryCount]:
        return [
            DeliveryCount(r["journey_id"], r["activity_id"], r["state"], int(r["n"]))
            for r in await self._fetch(sql.DELIVERY_COUNTS, mid)
        ]

    async def recent_dead(self, mid: str | None = None, limit: int = 20) -> list[DeadItem]:
        return [rows.dead_from_row(r) for r in await self._fetch(sql.RECENT_DEAD, mid, limit)]

    async def deliveries_over_time(
        self, mid: str | None, since: float, bucket_seconds: int
    ) -> list[tuple[float, int]]:
        found = await self._fetch(sql.DELIVERIES_OVER_TIME, float(bucket_seconds), since, mid)
        return [(float(r["bucket"]), int(r["n"])) for r in found]

    async def outbox_depth(self, now: float) -> OutboxDepth:
        row = (await self._fetch(sql.OUTBOX_DEPTH))[0]
        oldest = row["oldest"]
        age = max(0.0, now - float(oldest)) if oldest is not None else 0.0
        return OutboxDepth(int(row["n"]), age)

    async def activity_stats(self, mid: str, activity_id: str) -> ActivityStats:
        params = running_queries.stats_params(mid, activity_id)
        found = {name: await self._fetch(RUNNING[name], *args) for name, args in params.items()}
        return running_queries.stats_from_rows(
            found["states"], found["last_error"], found["dead_reasons"], found["skipped"]
        )

    async def dead_of_activity(self, mid: str, activity_id: str, limit: int) -> list[DeadItem]:
        found = await self._fetch(RUNNING["dead_items"], mid, activity_id, limit)
        return [rows.dead_from_row(r) for r in found]

    async def requeue_dead(self, mid: str, activity_id: str, now: float, audit: AuditEntry) -> int:
        async with self._tx() as conn:
            tag = await conn.execute(RUNNING["requeue_dead"], now, now, mid, activity_id)
            changed = int(tag.split()[-1])
            if changed:
                await insert_audit(conn, audit)
        return changed
