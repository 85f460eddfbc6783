"""Row <-> value mapping for the sign-in tables, shared by both backends."""

from __future__ import annotations

from activity.storage.models import SessionRecord, SfmcConnection, SsoState
from activity.storage.rows import Row, record_from_row, record_values

CONNECTION_COLUMNS = (
    "mid", "enterprise_id", "grant_type", "client_id", "secret_token", "tssd", "auth_url",
    "rest_instance_url", "soap_instance_url", "scope", "user_id", "user_email", "connected_at",
    "updated_at", "needs_signin", "needs_signin_why",
)  # fmt: skip
SESSION_COLUMNS = (
    "id_hash", "mid", "enterprise_id", "user_id", "email", "csrf_token", "source", "flash",
    "created_at", "expires_at",
)  # fmt: skip
STATE_COLUMNS = ("state_hash", "browser_hash", "next_path", "created_at", "expires_at")


def connection_values(c: SfmcConnection) -> tuple[object, ...]:
    return record_values(c, CONNECTION_COLUMNS)


def connection_from_row(row: Row) -> SfmcConnection:
    return record_from_row(SfmcConnection, row)


def session_values(s: SessionRecord) -> tuple[object, ...]:
    return record_values(s, SESSION_COLUMNS)


def session_from_row(row: Row) -> SessionRecord:
    return record_from_row(SessionRecord, row)


def state_values(s: SsoState) -> tuple[object, ...]:
    return record_values(s, STATE_COLUMNS)


def state_from_row(row: Row) -> SsoState:
    return record_from_row(SsoState, row)
