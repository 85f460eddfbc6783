"""The PostgreSQL store's Rokt settings per business unit and their audit log. A mixin of
PostgresStore (which provides `_fetch`, `_execute` and `_tx`)."""

from __future__ import annotations

from typing import Any

from activity.storage import postgres_queries as sql
from activity.storage import rows
from activity.storage.models import AuditEntry, StoredSettings
from activity.storage.postgres_setup import PostgresAccess


class PostgresSettingsMixin(PostgresAccess):
    async def get_settings(self, mid: str) -> StoredSettings | None:
        found = await self._fetch("SELECT * FROM settings WHERE mid = $1", mid)
        return rows.settings_from_row(found[0]) if found else None

    async def get_enterprise_default(self, enterprise_id: str) -> StoredSettings | None:
        found = await self._fetch(sql.ENTERPRISE_DEFAULT, enterprise_id)
        return rows.settings_from_row(found[0]) if found else None

    async def list_settings(self) -> list[StoredSettings]:
        found = await self._fetch("SELECT * FROM settings ORDER BY mid")
        return [rows.settings_from_row(r) for r in found]

    async def put_settings(self, settings: StoredSettings, audit: AuditEntry) -> None:
        s = settings
        async with self._tx() as conn:
            if s.is_enterprise_default:
                await conn.execute(sql.LOCK_ENTERPRISE, s.enterprise_id)
                await conn.execute(sql.CLEAR_ENTERPRISE_DEFAULT, s.enterprise_id, s.mid)
            await conn.execute(
                sql.UPSERT_SETTINGS, s.mid, s.account_code, s.account_id, s.client_id,
                s.secret_token, s.enterprise_id, s.is_enterprise_default, s.updated_at,
                s.updated_by, ",".join(s.calendar_ids),
            )  # fmt: skip
            await insert_audit(conn, audit)

    async def delete_settings(self, mid: str, audit: AuditEntry) -> bool:
        async with self._tx() as conn:
            deleted = await conn.fetchval("DELETE FROM settings WHERE mid = $1 RETURNING 1", mid)
            if deleted is not None:
                await insert_audit(conn, audit)
        return deleted is not None

    async def replace_secrets(self, tokens: dict[str, bytes]) -> int:
        if not tokens:
            return 0
        changed = await self._fetch(sql.REPLACE_SECRETS, list(tokens), list(tokens.values()))
        return len(changed)

    async def add_audit_entry(self, audit: AuditEntry) -> None:
        async with self._tx() as conn:
            await insert_audit(conn, audit)

    async def audit_log(self, mid: str, limit: int = 50) -> list[AuditEntry]:
        return [rows.audit_from_row(r) for r in await self._fetch(sql.AUDIT_LOG, mid, limit)]


async def insert_audit(conn: Any, audit: AuditEntry) -> None:
    a = audit
    await conn.execute(sql.INSERT_AUDIT, a.mid, a.at, a.user_id, a.user_email, a.action, a.detail)
