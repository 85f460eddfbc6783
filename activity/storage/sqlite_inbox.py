"""The inbox on SQLite (see storage/inbox.py for the contract)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from activity.storage.inbox import (
    HELD,
    Changes,
    EventActivity,
    EventCount,
    InboxItem,
    NewWebhook,
    SubscriptionRow,
    WebhookEndpoint,
    dump_changes,
    endpoint_from_row,
    item_from_row,
    lww_merge,
    values_of,
)
from activity.storage.inbox_batch import Batched
from activity.storage.models import DEAD, QUEUED, SENDING, SENT

T = TypeVar("T")
Tx = Callable[[Callable[[sqlite3.Connection], T]], Awaitable[T]]
Query = Callable[[str, Sequence[Any]], Awaitable[list[sqlite3.Row]]]

CLAIM_IDS = f"""
SELECT id FROM (SELECT id FROM inbox WHERE state = '{QUEUED}' AND next_attempt_at <= ?
                ORDER BY next_attempt_at LIMIT ?)
UNION ALL
SELECT id FROM (SELECT id FROM inbox WHERE state = '{SENDING}' AND lease_until < ? LIMIT ?)
LIMIT ?
"""

ACCEPT = (
    "INSERT INTO inbox (mid, webhook_id, event_type, subscription_id, changes, state, "
    f"created_at, next_attempt_at, updated_at) VALUES (?, ?, ?, ?, ?, '{QUEUED}', ?, ?, ?) "
    "ON CONFLICT (mid, webhook_id) DO NOTHING"
)


class SQLiteInbox:
    def __init__(self, tx: Tx[Any], query: Query) -> None:
        self._tx = tx
        self._query = query
        self._accepts: Batched[tuple[NewWebhook, float], bool] = Batched(self._accept_batch)

    # --- webhook URL tokens ----------------------------------------------------------------

    async def put_endpoint(self, endpoint: WebhookEndpoint) -> None:
        e = endpoint
        await self._tx(
            lambda db: db.execute(
                "INSERT INTO webhook_endpoints VALUES (?, ?, ?, ?) ON CONFLICT (mid) DO UPDATE "
                "SET token_hash = excluded.token_hash, token_enc = excluded.token_enc, "
                "created_at = excluded.created_at",
                (e.mid, e.token_hash, e.token_enc, e.created_at),
            )
        )

    async def get_endpoint(self, mid: str) -> WebhookEndpoint | None:
        found = await self._query("SELECT * FROM webhook_endpoints WHERE mid = ?", (mid,))
        return endpoint_from_row(found[0]) if found else None

    async def list_endpoints(self) -> list[WebhookEndpoint]:
        found = await self._query("SELECT * FROM webhook_endpoints ORDER BY mid", ())
        return [endpoint_from_row(r) for r in found]

    async def reencrypt_endpoint(self, mid: str, old: bytes, new: bytes) -> bool:
        def run(db: sqlite3.Connection) -> bool:
            changed = db.execute(
                "UPDATE webhook_endpoints SET token_enc = ? WHERE mid = ? AND token_enc = ?",
                (new, mid, old),
            )
            return changed.rowcount > 0

        return bool(await self._tx(run))

    # --- intake ----------------------------------------------------------------------------

    async def accept(self, webhook: NewWebhook, now: float) -> bool:
        return await self._accepts.submit((webhook, now))

    async def _accept_batch(self, jobs: Sequence[tuple[NewWebhook, float]]) -> list[bool]:
        rows = [
            (w.mid, w.webhook_id, w.event_type, w.subscription_id, dump_changes(w.changes),
             now, now, now)
            for w, now in jobs
        ]  # fmt: skip

        def run(db: sqlite3.Connection) -> list[bool]:
            return [db.execute(ACCEPT, row).rowcount > 0 for row in rows]

        result: list[bool] = await self._tx(run)
        return result

    async def record_event(self, activity: EventActivity, now: float) -> bool:
        a = activity

        def run(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "INSERT INTO calendar_event_activity VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (mid, webhook_id) DO NOTHING",
                (a.mid, a.webhook_id, a.event_id, a.event_type, a.subscription_id, now),
            )
            return cursor.rowcount > 0

        return bool(await self._tx(run))

    # --- leases ----------------------------------------------------------------------------

    async def claim(
        self, owner: str, now: float, lease_seconds: float, limit: int
    ) -> list[InboxItem]:
        def run(db: sqlite3.Connection) -> list[InboxItem]:
            ids = [r[0] for r in db.execute(CLAIM_IDS, (now, limit, now, limit, limit))]
            if not ids:
                return []
            marks = ", ".join("?" * len(ids))
            db.execute(
                f"UPDATE inbox SET state = '{SENDING}', lease_owner = ?, lease_until = ?, "
                f"attempts = attempts + 1, updated_at = ? WHERE id IN ({marks})",
                (owner, now + lease_seconds, now, *ids),
            )
            found = db.execute(f"SELECT * FROM inbox WHERE id IN ({marks}) ORDER BY id", ids)
            return [item_from_row(r) for r in found]

        result: list[InboxItem] = await self._tx(run)
        return result

    async def _owned(self, ids: Sequence[int], owner: str, sets: str, *params: Any) -> None:
        if not ids:
            return
        marks = ", ".join("?" * len(ids))
        sql = (
            f"UPDATE inbox SET lease_owner = '', {sets} WHERE id IN ({marks}) "
            f"AND state = '{SENDING}' AND lease_owner = ?"
        )
        await self._tx(lambda db: db.execute(sql, (*params, *ids, owner)))

    async def mark_sent(self, ids: Sequence[int], now: float, *, owner: str) -> None:
        await self._owned(ids, owner, f"state = '{SENT}', last_error = '', updated_at = ?", now)

    async def mark_retry(
        self, ids: Sequence[int], now: float, next_attempt_at: float, error: str, *, owner: str
    ) -> None:
        await self._owned(
            ids,
            owner,
            f"state = '{QUEUED}', next_attempt_at = ?, last_error = ?, updated_at = ?",
            next_attempt_at,
            error,
            now,
        )

    async def mark_dead(self, ids: Sequence[int], now: float, error: str, *, owner: str) -> None:
        await self._owned(
            ids, owner, f"state = '{DEAD}', last_error = ?, updated_at = ?", error, now
        )

    async def hold(self, ids: Sequence[int], now: float, why: str, *, owner: str) -> None:
        # A held item's attempt is not counted: waiting for a sign-in is not a failure.
        await self._owned(
            ids,
            owner,
            f"state = '{HELD}', attempts = MAX(attempts - 1, 0), last_error = ?, updated_at = ?",
            why,
            now,
        )

    async def unhold(self, mid: str, now: float) -> int:
        def run(db: sqlite3.Connection) -> int:
            return db.execute(
                f"UPDATE inbox SET state = '{QUEUED}', next_attempt_at = ?, updated_at = ? "
                f"WHERE mid = ? AND state = '{HELD}'",
                (now, now, mid),
            ).rowcount

        return int(await self._tx(run))

    async def held_mids(self) -> list[str]:
        found = await self._query(f"SELECT DISTINCT mid FROM inbox WHERE state = '{HELD}'", ())
        return [str(r["mid"]) for r in found]

    async def release(self, owner: str) -> None:
        await self._tx(
            lambda db: db.execute(
                f"UPDATE inbox SET state = '{QUEUED}', lease_owner = '', lease_until = 0, "
                f"attempts = MAX(attempts - 1, 0) WHERE state = '{SENDING}' AND lease_owner = ?",
                (owner,),
            )
        )

    async def next_due_at(self) -> float | None:
        found = await self._query(
            f"SELECT MIN(next_attempt_at) AS due FROM inbox WHERE state = '{QUEUED}'", ()
        )
        due = found[0]["due"] if found else None
        return float(due) if due is not None else None

    # --- subscription state ----------------------------------------------------------------

    async def merge(
        self, mid: str, changes: Mapping[str, Sequence[Changes]], now: float
    ) -> list[SubscriptionRow]:
        subs = list(changes)

        def run(db: sqlite3.Connection) -> list[SubscriptionRow]:
            stored = _stored_states(db, mid, subs)
            merged = []
            for sub in subs:
                state, version = stored.get(sub, ({}, 0))
                changed = False
                for one in changes[sub]:
                    changed = lww_merge(state, one) or changed
                if changed or version == 0:
                    version += 1
                    db.execute(
                        "INSERT INTO subscription_rows VALUES (?, ?, ?, ?, ?) "
                        "ON CONFLICT (mid, subscription_id) DO UPDATE SET "
                        "fields = excluded.fields, version = excluded.version, "
                        "updated_at = excluded.updated_at",
                        (mid, sub, json.dumps(state, ensure_ascii=False), version, now),
                    )
                merged.append(SubscriptionRow(mid, sub, values_of(state), version))
            return merged

        result: list[SubscriptionRow] = await self._tx(run)
        return result

    async def versions(self, mid: str, subscription_ids: Sequence[str]) -> dict[str, int]:
        def run(db: sqlite3.Connection) -> dict[str, int]:
            return {sub: v for sub, (_, v) in _stored_states(db, mid, subscription_ids).items()}

        result: dict[str, int] = await self._tx(run)
        return result

    async def prune(self, before: float, limit: int) -> int:
        def run(db: sqlite3.Connection) -> int:
            return db.execute(
                "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox "
                f"WHERE state IN ('{SENT}', '{DEAD}') AND updated_at < ? LIMIT ?)",
                (before, limit),
            ).rowcount

        return int(await self._tx(run))

    # --- operators -------------------------------------------------------------------------

    async def depth(self) -> int:
        found = await self._query(
            f"SELECT COUNT(*) AS n FROM inbox WHERE state IN ('{QUEUED}', '{SENDING}', '{HELD}')",
            (),
        )
        return int(found[0]["n"])

    async def counts(self, mid: str | None = None) -> dict[str, int]:
        where, params = ("WHERE mid = ?", (mid,)) if mid is not None else ("", ())
        found = await self._query(
            f"SELECT state, COUNT(*) AS n FROM inbox {where} GROUP BY state", params
        )
        return {str(r["state"]): int(r["n"]) for r in found}

    async def recent_dead(self, mid: str | None = None, limit: int = 20) -> list[InboxItem]:
        where, params = ("AND mid = ?", (mid,)) if mid is not None else ("", ())
        found = await self._query(
            f"SELECT * FROM inbox WHERE state = '{DEAD}' {where} "
            "ORDER BY updated_at DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        return [item_from_row(r) for r in found]

    async def event_counts(self, mid: str, limit: int = 50) -> list[EventCount]:
        found = await self._query(
            "SELECT event_id, event_type, COUNT(DISTINCT subscription_id) AS n "
            "FROM calendar_event_activity WHERE mid = ? GROUP BY event_id, event_type "
            "ORDER BY MAX(at) DESC, event_id, event_type LIMIT ?",
            (mid, limit),
        )
        return [EventCount(r["event_id"], r["event_type"], int(r["n"])) for r in found]


def _stored_states(
    db: sqlite3.Connection, mid: str, subs: Sequence[str]
) -> dict[str, tuple[dict[str, list[Any]], int]]:
    found: dict[str, tuple[dict[str, list[Any]], int]] = {}
    for start in range(0, len(subs), 500):
        chunk = list(subs[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        for row in db.execute(
            "SELECT subscription_id, fields, version FROM subscription_rows "
            f"WHERE mid = ? AND subscription_id IN ({marks})",
            (mid, *chunk),
        ):
            found[row[0]] = (json.loads(row[1]), int(row[2]))
    return found
