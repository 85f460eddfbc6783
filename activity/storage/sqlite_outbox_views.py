"""The SQLite store's reads of the outbox for the Deliveries page and the running-journey
views (counts, dead items, sends over time, depth, one activity's figures), and the requeue
of an activity's dead items. A mixin of SQLiteStore (which provides `_query` and `_tx`)."""

from __future__ import annotations

import sqlite3

from activity.storage import rows, running_queries
from activity.storage.models import (
    DEAD,
    QUEUED,
    SENDING,
    ActivityStats,
    AuditEntry,
    DeadItem,
    DeliveryCount,
    OutboxDepth,
)
from activity.storage.sqlite_settings import insert_audit
from activity.storage.sqlite_setup import SQLiteAccess

RUNNING = running_queries.queries("sqlite")


class SQLiteOutboxViewsMixin(SQLiteAccess):
    async def delivery_counts(self, mid: str | None = None) -> list[DeliveryCount]:
        where, params = ("WHERE mid = ?", (mid,)) if mid is not None else ("", ())
        found = await self._query(
            f"SELECT journey_id, activity_id, state, COUNT(*) AS n FROM outbox {where} "
            "GROUP BY journey_id, activity_id, state ORDER BY journey_id, activity_id, state",
            params,
        )
        return [DeliveryCount(r["journey_id"], r["activity_id"], r["state"], r["n"]) for r in found]

    async def recent_dead(self, mid: str | None = None, limit: int = 20) -> list[DeadItem]:
        where, params = ("AND mid = ?", (mid,)) if mid is not None else ("", ())
        found = await self._query(
            f"SELECT * FROM outbox WHERE state = ? {where} ORDER BY updated_at DESC, id DESC "
            "LIMIT ?",
            (DEAD, *params, limit),
        )
        return [rows.dead_from_row(r) for r in found]

    async def deliveries_over_time(
        self, mid: str | None, since: float, bucket_seconds: int
    ) -> list[tuple[float, int]]:
        where, params = ("AND mid = ?", (mid,)) if mid is not None else ("", ())
        found = await self._query(
            "SELECT CAST(sent_at / ? AS INTEGER) * ? AS bucket, COUNT(*) AS n FROM outbox "
            f"WHERE sent_at IS NOT NULL AND sent_at >= ? {where} GROUP BY bucket ORDER BY bucket",
            (bucket_seconds, bucket_seconds, since, *params),
        )
        return [(float(r["bucket"]), int(r["n"])) for r in found]

    async def outbox_depth(self, now: float) -> OutboxDepth:
        found = await self._query(
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE state IN (?, ?)",
            (QUEUED, SENDING),
        )
        row = found[0]
        oldest = row["oldest"]
        return OutboxDepth(int(row["n"]), max(0.0, now - float(oldest)) if oldest else 0.0)

    async def activity_stats(self, mid: str, activity_id: str) -> ActivityStats:
        params = running_queries.stats_params(mid, activity_id)
        found = {name: await self._query(RUNNING[name], args) for name, args in params.items()}
        return running_queries.stats_from_rows(
            found["states"], found["last_error"], found["dead_reasons"], found["skipped"]
        )

    async def dead_of_activity(self, mid: str, activity_id: str, limit: int) -> list[DeadItem]:
        found = await self._query(RUNNING["dead_items"], (mid, activity_id, limit))
        return [rows.dead_from_row(r) for r in found]

    async def requeue_dead(self, mid: str, activity_id: str, now: float, audit: AuditEntry) -> int:
        def run(db: sqlite3.Connection) -> int:
            changed = db.execute(RUNNING["requeue_dead"], (now, now, mid, activity_id)).rowcount
            if changed:
                insert_audit(db, audit)
            return int(changed)

        return await self._tx(run)
