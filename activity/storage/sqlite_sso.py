"""SQLite: admin sessions, sign-in states, used legacy token ids, Marketing Cloud connections.

A mixin of SQLiteStore (which provides `_query` and `_tx`), kept apart so the main store
module stays about the execute path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from activity.storage import sso_rows
from activity.storage.models import SessionRecord, SfmcConnection, SsoState

T = TypeVar("T")

_CONNECTION_INSERT = (
    f"INSERT INTO sfmc_connections ({', '.join(sso_rows.CONNECTION_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in sso_rows.CONNECTION_COLUMNS)}) ON CONFLICT (mid) DO UPDATE "
    "SET " + ", ".join(f"{c} = excluded.{c}" for c in sso_rows.CONNECTION_COLUMNS if c != "mid")
)
_SESSION_INSERT = (
    f"INSERT INTO sessions ({', '.join(sso_rows.SESSION_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in sso_rows.SESSION_COLUMNS)})"
)
_STATE_INSERT = (
    f"INSERT INTO sso_states ({', '.join(sso_rows.STATE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in sso_rows.STATE_COLUMNS)})"
)


class SQLiteSsoMixin:
    _query: Callable[..., Any]
    _tx: Callable[..., Any]

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        found: list[sqlite3.Row] = await self._query(sql, params)
        return found

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        result: T = await self._tx(fn)
        return result

    # --- sessions -------------------------------------------------------------------------

    async def create_session(self, record: SessionRecord) -> None:
        def run(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM sessions WHERE expires_at <= ?", (record.created_at,))
            db.execute(_SESSION_INSERT, sso_rows.session_values(record))

        await self._write(run)

    async def get_session(self, id_hash: str, now: float) -> SessionRecord | None:
        found = await self._rows(
            "SELECT * FROM sessions WHERE id_hash = ? AND expires_at > ?", (id_hash, now)
        )
        return sso_rows.session_from_row(found[0]) if found else None

    async def delete_session(self, id_hash: str) -> bool:
        def run(db: sqlite3.Connection) -> bool:
            return db.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,)).rowcount > 0

        return await self._write(run)

    async def set_session_flash(self, id_hash: str, message: str) -> None:
        def run(db: sqlite3.Connection) -> None:
            db.execute("UPDATE sessions SET flash = ? WHERE id_hash = ?", (message, id_hash))

        await self._write(run)

    async def pop_session_flash(self, id_hash: str) -> str:
        def run(db: sqlite3.Connection) -> str:
            row = db.execute("SELECT flash FROM sessions WHERE id_hash = ?", (id_hash,)).fetchone()
            if row is None or not row[0]:
                return ""
            db.execute("UPDATE sessions SET flash = '' WHERE id_hash = ?", (id_hash,))
            return str(row[0])

        return await self._write(run)

    # --- sign-in states and legacy token ids ------------------------------------------------

    async def put_sso_state(self, state: SsoState) -> None:
        def run(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM sso_states WHERE expires_at <= ?", (state.created_at,))
            db.execute(_STATE_INSERT, sso_rows.state_values(state))

        await self._write(run)

    async def take_sso_state(self, state_hash: str, now: float) -> SsoState | None:
        def run(db: sqlite3.Connection) -> SsoState | None:
            row = db.execute(
                "DELETE FROM sso_states WHERE state_hash = ? RETURNING *", (state_hash,)
            ).fetchone()
            if row is None or float(row["expires_at"]) <= now:
                return None
            return sso_rows.state_from_row(row)

        return await self._write(run)

    async def use_jti(self, jti: str, expires_at: float, now: float) -> bool:
        def run(db: sqlite3.Connection) -> bool:
            db.execute("DELETE FROM used_jtis WHERE expires_at <= ?", (now,))
            inserted = db.execute(
                "INSERT INTO used_jtis (jti, expires_at) VALUES (?, ?) "
                "ON CONFLICT (jti) DO NOTHING",
                (jti, expires_at),
            )
            return inserted.rowcount > 0

        return await self._write(run)

    # --- Marketing Cloud connections --------------------------------------------------------

    async def get_sfmc_connection(self, mid: str) -> SfmcConnection | None:
        found = await self._rows("SELECT * FROM sfmc_connections WHERE mid = ?", (mid,))
        return sso_rows.connection_from_row(found[0]) if found else None

    async def list_sfmc_connections(self) -> list[SfmcConnection]:
        found = await self._rows("SELECT * FROM sfmc_connections ORDER BY mid")
        return [sso_rows.connection_from_row(r) for r in found]

    async def put_sfmc_connection(self, connection: SfmcConnection) -> None:
        def run(db: sqlite3.Connection) -> None:
            db.execute(_CONNECTION_INSERT, sso_rows.connection_values(connection))

        await self._write(run)

    async def delete_sfmc_connection(self, mid: str) -> bool:
        def run(db: sqlite3.Connection) -> bool:
            return db.execute("DELETE FROM sfmc_connections WHERE mid = ?", (mid,)).rowcount > 0

        return await self._write(run)

    async def rotate_sfmc_secret(self, mid: str, old: bytes, new: bytes, now: float) -> bool:
        def run(db: sqlite3.Connection) -> bool:
            changed = db.execute(
                "UPDATE sfmc_connections SET secret_token = ?, updated_at = ?, "
                "needs_signin = 0, needs_signin_why = '' WHERE mid = ? AND secret_token = ?",
                (new, now, mid, old),
            )
            return changed.rowcount > 0

        return await self._write(run)

    async def reencrypt_sfmc_secret(self, mid: str, old: bytes, new: bytes) -> bool:
        def run(db: sqlite3.Connection) -> bool:
            changed = db.execute(
                "UPDATE sfmc_connections SET secret_token = ? WHERE mid = ? AND secret_token = ?",
                (new, mid, old),
            )
            return changed.rowcount > 0

        return await self._write(run)

    async def mark_sfmc_needs_signin(self, mid: str, why: str, now: float) -> bool:
        def run(db: sqlite3.Connection) -> bool:
            changed = db.execute(
                "UPDATE sfmc_connections SET needs_signin = 1, needs_signin_why = ?, "
                "updated_at = ? WHERE mid = ?",
                (why, now, mid),
            )
            return changed.rowcount > 0

        return await self._write(run)
