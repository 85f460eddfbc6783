"""The inbox on PostgreSQL (see storage/inbox.py for the contract)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

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

Connect = Callable[[], AbstractAsyncContextManager[Any]]

# Rows another claimer has locked are skipped, not waited for: instances share the work.
CLAIM = f"""
UPDATE inbox SET state = '{SENDING}', lease_owner = $1, lease_until = $2 + $3,
                 attempts = attempts + 1, updated_at = $2
WHERE id IN (
    SELECT id FROM inbox
    WHERE (state = '{QUEUED}' AND next_attempt_at <= $2)
       OR (state = '{SENDING}' AND lease_until < $2)
    ORDER BY id LIMIT $4
    FOR UPDATE SKIP LOCKED
)
RETURNING *
"""
OWNED = f" AND state = '{SENDING}' AND lease_owner = $"
ACCEPT = f"""
INSERT INTO inbox (mid, webhook_id, event_type, subscription_id, changes, state, created_at,
                   next_attempt_at, updated_at)
VALUES ($1, $2, $3, $4, $5, '{QUEUED}', $6, $6, $6)
ON CONFLICT (mid, webhook_id) DO NOTHING RETURNING id
"""
# Placeholders first, so that FOR UPDATE below locks every subscription of the batch, new or
# not: two workers merging the same subscription take turns.
PLACEHOLDERS = """
INSERT INTO subscription_rows (mid, subscription_id, fields, version, updated_at)
SELECT $1, s, '{}', 0, $3 FROM unnest($2::text[]) AS s
ON CONFLICT (mid, subscription_id) DO NOTHING
"""
LOCK_STATES = """
SELECT subscription_id, fields, version FROM subscription_rows
WHERE mid = $1 AND subscription_id = ANY($2::text[]) ORDER BY subscription_id FOR UPDATE
"""
SAVE_STATES = """
UPDATE subscription_rows AS r SET fields = t.fields, version = t.version, updated_at = $2
FROM unnest($3::text[], $4::text[], $5::int[]) AS t (subscription_id, fields, version)
WHERE r.mid = $1 AND r.subscription_id = t.subscription_id
"""


class PostgresInbox:
    def __init__(self, connection: Connect, transaction: Connect) -> None:
        self._connection = connection
        self._tx = transaction
        self._accepts: Batched[tuple[NewWebhook, float], bool] = Batched(self._accept_batch)

    async def _fetch(self, query: str, *args: Any) -> list[Any]:
        async with self._connection() as conn:
            return list(await conn.fetch(query, *args))

    async def _execute(self, query: str, *args: Any) -> str:
        async with self._connection() as conn:
            return str(await conn.execute(query, *args))

    # --- webhook URL tokens ----------------------------------------------------------------

    async def put_endpoint(self, endpoint: WebhookEndpoint) -> None:
        e = endpoint
        await self._execute(
            "INSERT INTO webhook_endpoints VALUES ($1, $2, $3, $4) ON CONFLICT (mid) DO UPDATE "
            "SET token_hash = excluded.token_hash, token_enc = excluded.token_enc, "
            "created_at = excluded.created_at",
            e.mid, e.token_hash, e.token_enc, e.created_at,
        )  # fmt: skip

    async def get_endpoint(self, mid: str) -> WebhookEndpoint | None:
        found = await self._fetch("SELECT * FROM webhook_endpoints WHERE mid = $1", mid)
        return endpoint_from_row(found[0]) if found else None

    async def list_endpoints(self) -> list[WebhookEndpoint]:
        found = await self._fetch("SELECT * FROM webhook_endpoints ORDER BY mid")
        return [endpoint_from_row(r) for r in found]

    async def reencrypt_endpoint(self, mid: str, old: bytes, new: bytes) -> bool:
        found = await self._fetch(
            "UPDATE webhook_endpoints SET token_enc = $1 WHERE mid = $2 AND token_enc = $3 "
            "RETURNING 1",
            new, mid, old,
        )  # fmt: skip
        return bool(found)

    # --- intake ----------------------------------------------------------------------------

    async def accept(self, webhook: NewWebhook, now: float) -> bool:
        return await self._accepts.submit((webhook, now))

    async def _accept_batch(self, jobs: Sequence[tuple[NewWebhook, float]]) -> list[bool]:
        async with self._tx() as conn:
            return [
                await conn.fetchval(
                    ACCEPT, w.mid, w.webhook_id, w.event_type, w.subscription_id,
                    dump_changes(w.changes), now,
                ) is not None
                for w, now in jobs
            ]  # fmt: skip

    async def record_event(self, activity: EventActivity, now: float) -> bool:
        a = activity
        tag = await self._execute(
            "INSERT INTO calendar_event_activity VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (mid, webhook_id) DO NOTHING",
            a.mid, a.webhook_id, a.event_id, a.event_type, a.subscription_id, now,
        )  # fmt: skip
        return tag.split()[-1] != "0"

    # --- leases ----------------------------------------------------------------------------

    async def claim(
        self, owner: str, now: float, lease_seconds: float, limit: int
    ) -> list[InboxItem]:
        found = await self._fetch(CLAIM, owner, now, lease_seconds, limit)
        return sorted((item_from_row(r) for r in found), key=lambda i: i.id)

    async def _owned(self, ids: Sequence[int], owner: str, sets: str, *params: Any) -> None:
        if not ids:
            return
        n = len(params)
        sql = (
            f"UPDATE inbox SET lease_owner = '', {sets} WHERE id = ANY(${n + 1}::bigint[])"
            f"{OWNED}{n + 2}"
        )
        await self._execute(sql, *params, list(ids), owner)

    async def mark_sent(self, ids: Sequence[int], now: float, *, owner: str) -> None:
        await self._owned(ids, owner, f"state = '{SENT}', last_error = '', updated_at = $1", now)

    async def mark_retry(
        self, ids: Sequence[int], now: float, next_attempt_at: float, error: str, *, owner: str
    ) -> None:
        await self._owned(
            ids,
            owner,
            f"state = '{QUEUED}', next_attempt_at = $1, last_error = $2, updated_at = $3",
            next_attempt_at,
            error,
            now,
        )

    async def mark_dead(self, ids: Sequence[int], now: float, error: str, *, owner: str) -> None:
        await self._owned(
            ids, owner, f"state = '{DEAD}', last_error = $1, updated_at = $2", error, now
        )

    async def hold(self, ids: Sequence[int], now: float, why: str, *, owner: str) -> None:
        await self._owned(
            ids,
            owner,
            f"state = '{HELD}', attempts = GREATEST(attempts - 1, 0), last_error = $1, "
            "updated_at = $2",
            why,
            now,
        )

    async def unhold(self, mid: str, now: float) -> int:
        tag = await self._execute(
            f"UPDATE inbox SET state = '{QUEUED}', next_attempt_at = $1, updated_at = $1 "
            f"WHERE mid = $2 AND state = '{HELD}'",
            now,
            mid,
        )
        return int(tag.split()[-1])

    async def held_mids(self) -> list[str]:
        found = await self._fetch(f"SELECT DISTINCT mid FROM inbox WHERE state = '{HELD}'")
        return [str(r["mid"]) for r in found]

    async def release(self, owner: str) -> None:
        await self._execute(
            f"UPDATE inbox SET state = '{QUEUED}', lease_owner = '', lease_until = 0, "
            f"attempts = GREATEST(attempts - 1, 0) WHERE state = '{SENDING}' AND lease_owner = $1",
            owner,
        )

    async def next_due_at(self) -> float | None:
        found = await self._fetch(
            f"SELECT MIN(next_attempt_at) FROM inbox WHERE state = '{QUEUED}'"
        )
        due = found[0][0]
        return float(due) if due is not None else None

    # --- subscription state ----------------------------------------------------------------

    async def merge(
        self, mid: str, changes: Mapping[str, Sequence[Changes]], now: float
    ) -> list[SubscriptionRow]:
        subs = sorted(changes)
        async with self._tx() as conn:
            await conn.execute(PLACEHOLDERS, mid, subs, now)
            stored = {
                r["subscription_id"]: (json.loads(r["fields"]), int(r["version"]))
                for r in await conn.fetch(LOCK_STATES, mid, subs)
            }
            merged, save = [], []
            for sub in subs:
                state, version = stored.get(sub, ({}, 0))
                changed = False
                for one in changes[sub]:
                    changed = lww_merge(state, one) or changed
                if changed or version == 0:
                    version += 1
                    save.append((sub, json.dumps(state, ensure_ascii=False), version))
                merged.append(SubscriptionRow(mid, sub, values_of(state), version))
            if save:
                names, fields, versions = (list(column) for column in zip(*save, strict=True))
                await conn.execute(SAVE_STATES, mid, now, names, fields, versions)
        order = {sub: n for n, sub in enumerate(changes)}
        return sorted(merged, key=lambda r: order[r.subscription_id])

    async def versions(self, mid: str, subscription_ids: Sequence[str]) -> dict[str, int]:
        found = await self._fetch(
            "SELECT subscription_id, version FROM subscription_rows "
            "WHERE mid = $1 AND subscription_id = ANY($2::text[]) AND version > 0",
            mid,
            list(subscription_ids),
        )
        return {r["subscription_id"]: int(r["version"]) for r in found}

    async def prune(self, before: float, limit: int) -> int:
        tag = await self._execute(
            "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox "
            f"WHERE state IN ('{SENT}', '{DEAD}') AND updated_at < $1 LIMIT $2)",
            before,
            limit,
        )
        return int(tag.split()[-1])

    # --- operators -------------------------------------------------------------------------

    async def depth(self) -> int:
        found = await self._fetch(
            f"SELECT COUNT(*) FROM inbox WHERE state IN ('{QUEUED}', '{SENDING}', '{HELD}')"
        )
        return int(found[0][0])

    async def counts(self, mid: str | None = None) -> dict[str, int]:
        found = await self._fetch(
            "SELECT state, COUNT(*) AS n FROM inbox WHERE $1::text IS NULL OR mid = $1 "
            "GROUP BY state",
            mid,
        )
        return {str(r["state"]): int(r["n"]) for r in found}

    async def recent_dead(self, mid: str | None = None, limit: int = 20) -> list[InboxItem]:
        found = await self._fetch(
            f"SELECT * FROM inbox WHERE state = '{DEAD}' AND ($1::text IS NULL OR mid = $1) "
            "ORDER BY updated_at DESC, id DESC LIMIT $2",
            mid,
            limit,
        )
        return [item_from_row(r) for r in found]

    async def event_counts(self, mid: str, limit: int = 50) -> list[EventCount]:
        found = await self._fetch(
            "SELECT event_id, event_type, COUNT(DISTINCT subscription_id) AS n "
            "FROM calendar_event_activity WHERE mid = $1 GROUP BY event_id, event_type "
            "ORDER BY MAX(at) DESC, event_id, event_type LIMIT $2",
            mid,
            limit,
        )
        return [EventCount(r["event_id"], r["event_type"], int(r["n"])) for r in found]
