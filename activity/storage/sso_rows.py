"""Row <-> value mapping for the sign-in tables, shared by both backends."""

from __future__ import annotations

from activity.storage.models import SessionRecord, SfmcConnection, SsoState
from activity.storage.rows import Row

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
    return (
        c.mid, c.enterprise_id, c.grant_type, c.client_id, c.secret_token, c.tssd, c.auth_url,
        c.rest_instance_url, c.soap_instance_url, c.scope, c.user_id, c.user_email,
        c.connected_at, c.updated_at, c.needs_signin, c.needs_signin_why,
    )  # fmt: skip


def connection_from_row(row: Row) -> SfmcConnection:
    return SfmcConnection(
        mid=row["mid"],
        enterprise_id=row["enterprise_id"],
        grant_type=row["grant_type"],
        client_id=row["client_id"],
        secret_token=bytes(row["secret_token"]),
        tssd=row["tssd"],
        auth_url=row["auth_url"],
        rest_instance_url=row["rest_instance_url"],
        soap_instance_url=row["soap_instance_url"],
        scope=row["scope"],
        user_id=row["user_id"],
        user_email=row["user_email"],
        connected_at=float(row["connected_at"]),
        updated_at=float(row["updated_at"]),
        needs_signin=bool(row["needs_signin"]),
        needs_signin_why=row["needs_signin_why"],
    )


def session_values(s: SessionRecord) -> tuple[object, ...]:
    return (
        s.id_hash, s.mid, s.enterprise_id, s.user_id, s.email, s.csrf_token, s.source, s.flash,
        s.created_at, s.expires_at,
    )  # fmt: skip


def session_from_row(row: Row) -> SessionRecord:
    return SessionRecord(
        id_hash=row["id_hash"],
        mid=row["mid"],
        enterprise_id=row["enterprise_id"],
        user_id=row["user_id"],
        email=row["email"],
        csrf_token=row["csrf_token"],
        source=row["source"],
        flash=row["flash"],
        created_at=float(row["created_at"]),
        expires_at=float(row["expires_at"]),
    )


def state_values(s: SsoState) -> tuple[object, ...]:
    return (s.state_hash, s.browser_hash, s.next_path, s.created_at, s.expires_at)


def state_from_row(row: Row) -> SsoState:
    return SsoState(
        state_hash=row["state_hash"],
        browser_hash=row["browser_hash"],
        next_path=row["next_path"],
        created_at=float(row["created_at"]),
        expires_at=float(row["expires_at"]),
    )
