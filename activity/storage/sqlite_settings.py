"""The SQLite store's Rokt settings per business unit and their audit log. A mixin of
SQLiteStore (which provides `_query` and `_tx`)."""

from __future__ import annotations

import sqlite3

from activity.storage import rows
from activity.storage.models import AuditEntry, StoredSettings
from activity.storage.sqlite_setup import SQLiteAccess


class SQLiteSettingsMixin(SQLiteAccess):
    async def get_settings(self, mid: str) -> StoredSettings | None:
        found = await self._query("SELECT * FROM settings WHERE mid = ?", (mid,))
        return rows.settings_from_row(found[0]) if found else None

    async def get_enterprise_default(self, enterprise_id: str) -> StoredSettings | None:
        found = await self._query(
            "SELECT * FROM settings WHERE enterprise_id = ? AND is_enterprise_default = 1 "
            "ORDER BY updated_at DESC LIMIT 1",
            (enterprise_id,),
        )
        return rows.settings_from_row(found[0]) if found else None

    async def list_settings(self) -> list[StoredSettings]:
        return [
            rows.settings_from_row(r)
            for r in await self._query("SELECT * FROM settings ORDER BY mid")
        ]

    async def put_settings(self, settings: StoredSettings, audit: AuditEntry) -> None:
        def run(db: sqlite3.Connection) -> None:
            if settings.is_enterprise_default:
                db.execute(
                    "UPDATE settings SET is_enterprise_default = 0 "
                    "WHERE enterprise_id = ? AND mid <> ?",
                    (settings.enterprise_id, settings.mid),
                )
            db.execute(
                "INSERT INTO settings (mid, account_code, account_id, client_id, secret_token, "
                "enterprise_id, is_enterprise_default, updated_at, updated_by, calendar_ids) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (mid) DO UPDATE SET "
                "account_code = excluded.account_code, account_id = excluded.account_id, "
                "client_id = excluded.client_id, secret_token = excluded.secret_token, "
                "enterprise_id = excluded.enterprise_id, "
                "is_enterprise_default = excluded.is_enterprise_default, "
                "updated_at = excluded.updated_at, updated_by = excluded.updated_by, "
                "calendar_ids = excluded.calendar_ids",
                (
                    settings.mid,
                    settings.account_code,
                    settings.account_id,
                    settings.client_id,
                    settings.secret_token,
                    settings.enterprise_id,
                    int(settings.is_enterprise_default),
                    settings.updated_at,
                    settings.updated_by,
                    ",".join(settings.calendar_ids),
                ),
            )
            insert_audit(db, audit)

        await self._tx(run)

    async def delete_settings(self, mid: str, audit: AuditEntry) -> bool:
        def run(db: sqlite3.Connection) -> bool:
            deleted = db.execute("DELETE FROM settings WHERE mid = ?", (mid,)).rowcount > 0
            if deleted:
                insert_audit(db, audit)
            return deleted

        return await self._tx(run)

    async def replace_secrets(self, tokens: dict[str, bytes]) -> int:
        def run(db: sqlite3.Connection) -> int:
            return sum(
                db.execute(
                    "UPDATE settings SET secret_token = ? WHERE mid = ?", (token, mid)
                ).rowcount
                for mid, token in tokens.items()
            )

        return await self._tx(run)

    async def add_audit_entry(self, audit: AuditEntry) -> None:
        await self._tx(lambda db: insert_audit(db, audit))

    async def audit_log(self, mid: str, limit: int = 50) -> list[AuditEntry]:
        found = await self._query(
            "SELECT * FROM settings_audit WHERE mid = ? ORDER BY at DESC, id DESC LIMIT ?",
            (mid, limit),
        )
        return [rows.audit_from_row(r) for r in found]


def insert_audit(db: sqlite3.Connection, audit: AuditEntry) -> None:
    db.execute(
        "INSERT INTO settings_audit (mid, at, user_id, user_email, action, detail) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (audit.mid, audit.at, audit.user_id, audit.user_email, audit.action, audit.detail),
    )
