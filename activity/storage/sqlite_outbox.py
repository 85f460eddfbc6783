"""The SQLite store's outbox as the delivery worker uses it: claim due items under a lease,
mark what happened to them, give back what was never tried, prune finished work. A mixin of
SQLiteStore (which provides `_query` and `_tx`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from activity.storage import rows
from activity.storage.models import DEAD, QUEUED, SENDING, SENT, OutboxItem
from activity.storage.sqlite_operations import PRUNE_STATS, count_retries
from activity.storage.sqlite_setup import SQLiteAccess

# Claimed but never tried (given back, or released): the claim counted an attempt that did
# not happen.
UNCOUNT_ATTEMPT = "MAX(attempts - 1, 0)"


class SQLiteOutboxMixin(SQLiteAccess):
    async def claim(
        self, owner: str, now: float, lease_seconds: float, limit: int
    ) -> list[OutboxItem]:
        def run(db: sqlite3.Connection) -> str:
            (ids,) = db.execute(CLAIM_IDS, (now, limit, now, limit, limit)).fetchone()
            if ids == "[]":
                return "[]"
            db.execute(CLAIM, (SENDING, owner, now + lease_seconds, now, ids))
            (found,) = db.execute(CLAIMED, (ids,)).fetchone()
            return str(found)

        found = json.loads(await self._tx(run))
        if not found:
            return []
        *first, claimed = found
        shared = dict(zip(SHARED_COLUMNS, first, strict=True))
        return rows.items_from_rows(_claimed_row(r, shared) for r in claimed)

    async def _update(
        self,
        ids: Sequence[int],
        sql: str,
        params: Sequence[Any],
        owner: str | None = None,
        *,
        retry_at: float | None = None,
    ) -> None:
        """With `retry_at`, the changed rows are also counted as retries at that time."""
        if not ids:
            return
        where, keys = f" WHERE id IN ({_marks(ids)})", tuple[Any, ...](ids)
        if owner is not None:
            where, keys = f"{where} AND state = ? AND lease_owner = ?", (*keys, SENDING, owner)

        def run(db: sqlite3.Connection) -> None:
            if retry_at is not None:
                count_retries(db, where, keys, retry_at)
            db.execute(sql + where, (*params, *keys))

        await self._tx(run)

    async def mark_sent(
        self, ids: Sequence[int], now: float, *, owner: str | None = None, note: str = ""
    ) -> None:
        await self._update(
            ids,
            "UPDATE outbox SET state = ?, lease_owner = '', updated_at = ?, sent_at = ?, "
            "last_error = ?",
            (SENT, now, now, note),
            owner,
        )

    async def mark_maybe_sent(
        self, ids: Sequence[int], at: float | None, *, owner: str | None = None
    ) -> None:
        await self._update(ids, "UPDATE outbox SET maybe_sent_at = ?", (at,), owner)

    async def mark_retry(
        self,
        ids: Sequence[int],
        now: float,
        next_attempt_at: float,
        error: str,
        *,
        owner: str | None = None,
    ) -> None:
        await self._update(
            ids,
            "UPDATE outbox SET state = ?, lease_owner = '', next_attempt_at = ?, "
            "last_error = ?, updated_at = ?",
            (QUEUED, next_attempt_at, error, now),
            owner,
            retry_at=now,
        )

    async def mark_dead(
        self, ids: Sequence[int], now: float, error: str, *, owner: str | None = None
    ) -> None:
        await self._update(
            ids,
            "UPDATE outbox SET state = ?, lease_owner = '', last_error = ?, updated_at = ?",
            (DEAD, error, now),
            owner,
        )

    async def give_back(
        self, ids: Sequence[int], now: float, why: str, *, owner: str | None = None
    ) -> None:
        await self._update(
            ids,
            "UPDATE outbox SET state = ?, lease_owner = '', lease_until = 0, "
            f"attempts = {UNCOUNT_ATTEMPT}, next_attempt_at = ?, last_error = ?, updated_at = ?",
            (QUEUED, now, why, now),
            owner,
        )

    async def release(self, owner: str) -> None:
        await self._tx(
            lambda db: db.execute(
                "UPDATE outbox SET state = ?, lease_owner = '', lease_until = 0, "
                f"attempts = {UNCOUNT_ATTEMPT} WHERE state = ? AND lease_owner = ?",
                (QUEUED, SENDING, owner),
            )
        )

    async def next_due_at(self) -> float | None:
        found = await self._query(
            "SELECT MIN(next_attempt_at) AS due FROM outbox WHERE state = ?", (QUEUED,)
        )
        due = found[0]["due"] if found else None
        return float(due) if due is not None else None

    async def prune(self, before: float, limit: int) -> int:
        def run(db: sqlite3.Connection) -> int:
            answers = db.execute(PRUNE_EXECUTIONS, (before, limit)).rowcount
            db.execute(PRUNE_STATS, (before,))  # a few rows per business unit and hour
            return answers + db.execute(PRUNE_OUTBOX, (before, limit)).rowcount

        return await self._tx(run)


# Due items in the order they fell due (the index order: no sort of the whole backlog), then
# items whose lease ran out. Claimed rows come back as one JSON row, not a row per item: the
# database thread retakes the GIL after every row it steps through.
CLAIM_IDS = f"""
SELECT json_group_array(id) FROM (
    SELECT id FROM (SELECT id FROM outbox WHERE state = '{QUEUED}' AND next_attempt_at <= ?
                    ORDER BY next_attempt_at LIMIT ?)
    UNION ALL
    SELECT id FROM (SELECT id FROM outbox WHERE state = '{SENDING}' AND lease_until < ? LIMIT ?)
    LIMIT ?
)
"""

CLAIM = """
UPDATE outbox SET state = ?, lease_owner = ?, lease_until = ?, attempts = attempts + 1,
                  updated_at = ?
WHERE id IN (SELECT value FROM json_each(?))
"""

CLAIMED_COLUMNS = (
    "id", *rows.OUTBOX_INSERT_FIELDS,
    "state", "attempts", "created_at", "next_attempt_at", "last_error", "maybe_sent_at",
)  # fmt: skip
# Columns the items of one batch mostly share (one event, one journey): each row carries them
# only where they differ from the batch's first item, whose values come once. Building and
# parsing the same 300-character payload 500 times cost as much as the claim's UPDATE.
SHARED_COLUMNS = (
    "mid", "account_code", "action", "batch_key", "payload", "event_id", "journey_id",
    "activity_id",
)  # fmt: skip
_CLAIMED_VALUES = ", ".join(
    f"NULLIF(o.{c}, f.{c})" if c in SHARED_COLUMNS else f"o.{c}" for c in CLAIMED_COLUMNS
)

# One JSON array: the first item's shared columns, then every claimed row.
CLAIMED = f"""
SELECT json_array({", ".join(f"f.{c}" for c in SHARED_COLUMNS)},
                  json_group_array(json_array({_CLAIMED_VALUES})))
FROM (SELECT * FROM outbox WHERE id = (SELECT MIN(value) FROM json_each(?1))) AS f,
     outbox AS o
WHERE o.id IN (SELECT value FROM json_each(?1))
"""

PRUNE_EXECUTIONS = (
    "DELETE FROM executions WHERE (activity_id, definition_instance_id) IN "
    "(SELECT activity_id, definition_instance_id FROM executions WHERE created_at < ? LIMIT ?)"
)

PRUNE_OUTBOX = (
    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox "
    "WHERE state IN ('sent', 'dead') AND updated_at < ? LIMIT ?)"
)


def _claimed_row(values: list[Any], shared: dict[str, Any]) -> dict[str, Any]:
    row = dict(zip(CLAIMED_COLUMNS, values, strict=True))
    for name, value in shared.items():
        if row[name] is None:  # the shared columns are NOT NULL: None means "as the first"
            row[name] = value
    return row


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))
