"""Row mapping shared by both backends."""

from __future__ import annotations

from decimal import Decimal

from activity.storage import sso_rows
from activity.storage.models import SfmcConnection
from activity.storage.rows import record_from_row, record_values


def test_a_row_becomes_a_record_of_the_field_types() -> None:
    # What asyncpg/sqlite3 hand back: numerics as Decimal or int, flags as 0/1, blobs as views.
    row = {
        "mid": "100", "grant_type": "refresh_token", "client_id": "c",
        "secret_token": memoryview(b"sealed"), "auth_url": "https://a", "connected_at": 5,
        "updated_at": Decimal("6.5"), "enterprise_id": "E", "tssd": "t",
        "rest_instance_url": "r", "soap_instance_url": "s", "scope": "", "user_id": "u",
        "user_email": "e@x", "needs_signin": 1, "needs_signin_why": "why",
    }  # fmt: skip
    got = record_from_row(SfmcConnection, row)
    assert got.secret_token == b"sealed" and type(got.secret_token) is bytes
    assert (got.connected_at, got.updated_at) == (5.0, 6.5)
    assert type(got.connected_at) is float and type(got.updated_at) is float
    assert got.needs_signin is True and got.needs_signin_why == "why"
    # And back: the values in the INSERT's column order give the same row.
    values = record_values(got, sso_rows.CONNECTION_COLUMNS)
    assert dict(zip(sso_rows.CONNECTION_COLUMNS, values, strict=True)) == {
        **row, "secret_token": b"sealed", "connected_at": 5.0, "updated_at": 6.5,
        "needs_signin": True,
    }  # fmt: skip
