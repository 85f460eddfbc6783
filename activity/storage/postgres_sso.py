"""PostgreSQL: admin sessions, sign-in states, used legacy token ids, Marketing Cloud
connections. A mixin of PostgresStore (which provides `_fetch`, `_execute` and `_tx`)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from activity.storage import sso_rows
from activity.storage.models import SessionRecord, SfmcConnection, SsoState


def _placeholders(n: int) -> str:
    return ", ".join(f"${i}" for i in range(1, n + 1))


_CONNECTION_INSERT = (
    f"INSERT INTO sfmc_connections ({', '.join(sso_rows.CONNECTION_COLUMNS)}) "
    f"VALUES ({_placeholders(len(sso_rows.CONNECTION_COLUMNS))}) ON CONFLICT (mid) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in sso_rows.CONNECTION_COLUMNS if c != "mid")
)
_SESSION_INSERT = (
    f"INSERT INTO sessions ({', '.join(sso_rows.SESSION_COLUMNS)}) "
    f"VALUES ({_placeholders(len(sso_rows.SESSION_COLUMNS))})"
)
_STATE_INSERT = (
    f"INSERT INTO sso_states ({', '.join(sso_rows.STATE_COLUMNS)}) "
    f"VALUES ({_placeholders(len(sso_rows.STATE_COLUMNS))})"
)


class PostgresSsoMixin:
    _fetch: Callable[..., Any]
    _tx: Callable[[], AbstractAsyncContextManager[Any]]

    async def _rows(self, query: str, *args: Any) -> list[Any]:
        found: list[Any] = await self._fetch(query, *args)
        return found

    # --- sessions -------------------------------------------------------------------------

    async def create_session(self, record: SessionRecord) -> None:
        async with self._tx() as conn:
            await conn.execute("DELETE FROM sessions WHERE expires_at <= $1", record.created_at)
            await conn.execute(_SESSION_INSERT, *sso_rows.session_values(record))

    async def get_session(self, id_hash: str, now: float) -> SessionRecord | None:
        found = await self._rows(
            "SELECT * FROM sessions WHERE id_hash = $1 AND expires_at > $2", id_hash, now
        )
        return sso_rows.session_from_row(found[0]) if found else None

    async def delete_session(self, id_hash: str) -> bool:
        found = await self._rows("DELETE FROM sessions WHERE id_hash = $1 RETURNING 1", id_hash)
        return bool(found)

    async def set_session_flash(self, id_hash: str, message: str) -> None:
        await self._rows("UPDATE sessions SET flash = $1 WHERE id_hash = $2", message, id_hash)

    async def pop_session_flash(self, id_hash: str) -> str:
        # The old value comes from the row locked by the UPDATE, so two readers never both
        # get one message.
        found = await self._rows(
            "UPDATE sessions AS s SET flash = '' FROM (SELECT id_hash, flash FROM sessions "
            "WHERE id_hash = $1 FOR UPDATE) AS old WHERE s.id_hash = old.id_hash "
            "RETURNING old.flash",
            id_hash,
        )
        return str(found[0]["flash"]) if found else ""

    # --- sign-in states and legacy token ids ------------------------------------------------

    async def put_sso_state(self, state: SsoState) -> None:
        async with self._tx() as conn:
            await conn.execute("DELETE FROM sso_states WHERE expires_at <= $1", state.created_at)
            await conn.execute(_STATE_INSERT, *sso_rows.state_values(state))

    async def take_sso_state(self, state_hash: str, now: float) -> SsoState | None:
        found = await self._rows(
            "DELETE FROM sso_states WHERE state_hash = $1 RETURNING *", state_hash
        )
        if not found or float(found[0]["expires_at"]) <= now:
            return None
        return sso_rows.state_from_row(found[0])

    async def use_jti(self, jti: str, expires_at: float, now: float) -> bool:
        async with self._tx() as conn:
            await conn.execute("DELETE FROM used_jtis WHERE expires_at <= $1", now)
            inserted = await conn.fetchval(
                "INSERT INTO used_jtis (jti, expires_at) VALUES ($1, $2) "
                "ON CONFLICT (jti) DO NOTHING RETURNING 1",
                jti,
                expires_at,
            )
        return inserted is not None

    # --- Marketing Cloud connections --------------------------------------------------------

    async def get_sfmc_connection(self, mid: str) -> SfmcConnection | None:
        found = await self._rows("SELECT * FROM sfmc_connections WHERE mid = $1", mid)
        return sso_rows.connection_from_row(found[0]) if found else None

    async def list_sfmc_connections(self) -> list[SfmcConnection]:
        found = await self._rows("SELECT * FROM sfmc_connections ORDER BY mid")
        return [sso_rows.connection_from_row(r) for r in found]

    async def put_sfmc_connection(self, connection: SfmcConnection) -> None:
        await self._rows(_CONNECTION_INSERT, *sso_rows.connection_values(connection))

    async def delete_sfmc_connection(self, mid: str) -> bool:
        found = await self._rows("DELETE FROM sfmc_connections WHERE mid = $1 RETURNING 1", mid)
        return bool(found)

    async def rotate_sfmc_secret(self, mid: str, old: bytes, new: bytes, now: float) -> bool:
        found = await self._rows(
            "UPDATE sfmc_connections SET secret_token = $1, updated_at = $2, "
            "needs_signin = FALSE, needs_signin_why = '' WHERE mid = $3 AND secret_token = $4 "
            "RETURNING 1",
            new,
            now,
            mid,
            old,
        )
        return bool(found)

    async def reencrypt_sfmc_secret(self, mid: str, old: bytes, new: bytes) -> bool:
        found = await self._rows(
            "UPDATE sfmc_connections SET secret_token = $1 WHERE mid = $2 AND secret_token = $3 "
            "RETURNING 1",
            new,
            mid,
            old,
        )
        return bool(found)

    async def mark_sfmc_needs_signin(self, mid: str, why: str, now: float) -> bool:
        found = await self._rows(
            "UPDATE sfmc_connections SET needs_signin = TRUE, needs_signin_why = $1, "
            "updated_at = $2 WHERE mid = $3 RETURNING 1",
            why,
            now,
            mid,
        )
        return bool(found)
