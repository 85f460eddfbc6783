"""The sign-in part of the Store contract (migration 0003): sessions, states, used token ids
and Marketing Cloud connections behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from activity.errors import StorageUnavailable
from activity.storage.base import Store
from activity.storage.models import (
    CLIENT_CREDENTIALS_GRANT,
    REFRESH_TOKEN_GRANT,
    SSO_SOURCE,
    SessionRecord,
    SfmcConnection,
    SsoState,
)


def session(id_hash: str = "h1", mid: str = "100", **overrides: Any) -> SessionRecord:
    values: dict[str, Any] = {
        "id_hash": id_hash,
        "mid": mid,
        "enterprise_id": "E1",
        "user_id": "u1",
        "email": "admin@example.com",
        "csrf_token": f"csrf-{id_hash}",
        "source": SSO_SOURCE,
        "created_at": 1000.0,
        "expires_at": 1000.0 + 8 * 3600,
    }
    values.update(overrides)
    return SessionRecord(**values)


def connection(mid: str = "100", **overrides: Any) -> SfmcConnection:
    values: dict[str, Any] = {
        "mid": mid,
        "grant_type": REFRESH_TOKEN_GRANT,
        "client_id": "web-app",
        "secret_token": b"\x00encrypted-refresh\xff" + mid.encode(),
        "auth_url": "https://tenant.auth.marketingcloudapis.com",
        "connected_at": 1000.0,
        "updated_at": 1000.0,
        "enterprise_id": "E1",
        "tssd": "tenant",
        "rest_instance_url": "https://tenant.rest.marketingcloudapis.com/",
        "soap_instance_url": "https://tenant.soap.marketingcloudapis.com/",
        "scope": "offline data_extensions_read",
        "user_id": "sub-1",
        "user_email": "admin@example.com",
    }
    values.update(overrides)
    return SfmcConnection(**values)


# --- sessions ---------------------------------------------------------------------------------


async def test_a_session_is_found_by_its_hash_until_it_expires(store: Store) -> None:
    record = session()
    await store.create_session(record)
    assert await store.get_session("h1", now=1001.0) == record
    assert await store.get_session("h2", now=1001.0) is None
    assert await store.get_session("h1", now=record.expires_at - 0.001) == record
    assert await store.get_session("h1", now=record.expires_at) is None


async def test_a_deleted_session_is_gone_and_others_stay(store: Store) -> None:
    await store.create_session(session("h1"))
    await store.create_session(session("h2", mid="200"))
    assert await store.delete_session("h1") is True
    assert await store.delete_session("h1") is False
    assert await store.get_session("h1", now=1001.0) is None
    other = await store.get_session("h2", now=1001.0)
    assert other is not None and other.mid == "200"


async def test_creating_a_session_forgets_expired_ones(store: Store) -> None:
    await store.create_session(session("old", created_at=0.0, expires_at=10.0))
    await store.create_session(session("new", created_at=20.0, expires_at=100.0))
    # Even a clock going backwards would not bring the expired row back: it was deleted.
    assert await store.get_session("old", now=5.0) is None
    assert await store.get_session("new", now=21.0) is not None


async def test_the_same_session_id_cannot_be_stored_twice(store: Store) -> None:
    await store.create_session(session("h1", mid="100"))
    with pytest.raises(StorageUnavailable):
        await store.create_session(session("h1", mid="200"))
    found = await store.get_session("h1", now=1001.0)
    assert found is not None and found.mid == "100"


async def test_a_flash_is_shown_once_and_only_to_its_session(store: Store) -> None:
    await store.create_session(session("h1"))
    await store.create_session(session("h2"))
    await store.set_session_flash("h1", "Settings saved ✓")
    assert await store.pop_session_flash("h2") == ""
    assert await store.pop_session_flash("h1") == "Settings saved ✓"
    assert await store.pop_session_flash("h1") == ""
    assert await store.pop_session_flash("unknown") == ""


async def test_concurrent_pops_get_a_flash_once(store: Store) -> None:
    await store.create_session(session("h1"))
    await store.set_session_flash("h1", "once")
    got = await asyncio.gather(*(store.pop_session_flash("h1") for _ in range(8)))
    assert sorted(got) == [""] * 7 + ["once"]


# --- sign-in states ---------------------------------------------------------------------------


def state(h: str = "s1", **overrides: Any) -> SsoState:
    values: dict[str, Any] = {
        "state_hash": h,
        "browser_hash": f"b-{h}",
        "next_path": "/settings/deliveries",
        "created_at": 1000.0,
        "expires_at": 1600.0,
    }
    values.update(overrides)
    return SsoState(**values)


async def test_a_state_is_taken_once(store: Store) -> None:
    await store.put_sso_state(state("s1"))
    assert await store.take_sso_state("s1", now=1001.0) == state("s1")
    assert await store.take_sso_state("s1", now=1001.0) is None
    assert await store.take_sso_state("never", now=1001.0) is None


async def test_an_expired_state_is_refused_and_used_up(store: Store) -> None:
    await store.put_sso_state(state("s1"))
    assert await store.take_sso_state("s1", now=1600.0) is None
    assert await store.take_sso_state("s1", now=1001.0) is None, "gone, not just refused"


async def test_concurrent_takes_of_one_state_succeed_once(store: Store) -> None:
    await store.put_sso_state(state("s1"))
    got = await asyncio.gather(*(store.take_sso_state("s1", now=1001.0) for _ in range(8)))
    assert [g for g in got if g is not None] == [state("s1")]


# --- legacy token ids -------------------------------------------------------------------------


async def test_a_jti_is_accepted_once_until_it_expires(store: Store) -> None:
    assert await store.use_jti("j1", expires_at=2000.0, now=1000.0) is True
    assert await store.use_jti("j1", expires_at=2000.0, now=1500.0) is False
    assert await store.use_jti("j2", expires_at=2000.0, now=1500.0) is True
    # After the token's own expiry nobody can present it again (its exp refuses it), so
    # its id may be forgotten.
    assert await store.use_jti("j1", expires_at=3000.0, now=2000.0) is True


async def test_concurrent_uses_of_one_jti_succeed_once(store: Store) -> None:
    got = await asyncio.gather(*(store.use_jti("j", 2000.0, 1000.0) for _ in range(8)))
    assert sorted(got) == [False] * 7 + [True]


# --- Marketing Cloud connections ---------------------------------------------------------------


async def test_a_connection_round_trips_and_is_per_business_unit(store: Store) -> None:
    await store.put_sfmc_connection(connection("100"))
    await store.put_sfmc_connection(connection("200", user_email="other@example.com"))
    assert await store.get_sfmc_connection("100") == connection("100")
    other = await store.get_sfmc_connection("200")
    assert other is not None and other.user_email == "other@example.com"
    assert await store.get_sfmc_connection("300") is None
    assert [c.mid for c in await store.list_sfmc_connections()] == ["100", "200"]


async def test_signing_in_again_replaces_the_connection(store: Store) -> None:
    await store.put_sfmc_connection(connection("100"))
    await store.mark_sfmc_needs_signin("100", "invalid_grant", now=1500.0)
    fresh = connection(
        "100",
        secret_token=b"new",
        tssd="other",
        connected_at=2000.0,
        updated_at=2000.0,
        user_email="second@example.com",
        grant_type=CLIENT_CREDENTIALS_GRANT,
    )
    await store.put_sfmc_connection(fresh)
    assert await store.get_sfmc_connection("100") == fresh
    assert len(await store.list_sfmc_connections()) == 1


async def test_disconnecting_deletes_only_that_connection(store: Store) -> None:
    await store.put_sfmc_connection(connection("100"))
    await store.put_sfmc_connection(connection("200"))
    assert await store.delete_sfmc_connection("100") is True
    assert await store.delete_sfmc_connection("100") is False
    assert await store.get_sfmc_connection("100") is None
    assert await store.get_sfmc_connection("200") is not None


async def test_rotating_the_secret_needs_the_current_one(store: Store) -> None:
    first = connection("100", secret_token=b"first")
    await store.put_sfmc_connection(first)
    assert await store.rotate_sfmc_secret("100", b"first", b"second", now=1100.0) is True
    assert await store.rotate_sfmc_secret("100", b"first", b"third", now=1200.0) is False
    stored = await store.get_sfmc_connection("100")
    assert stored is not None
    assert (stored.secret_token, stored.updated_at) == (b"second", 1100.0)
    assert stored.connected_at == first.connected_at, "a refresh is not a new sign-in"
    assert await store.rotate_sfmc_secret("999", b"first", b"x", now=1.0) is False


async def test_concurrent_rotations_from_one_secret_succeed_once(store: Store) -> None:
    await store.put_sfmc_connection(connection("100", secret_token=b"first"))
    got = await asyncio.gather(
        *(store.rotate_sfmc_secret("100", b"first", f"n{i}".encode(), 1.0) for i in range(6))
    )
    assert got.count(True) == 1
    stored = await store.get_sfmc_connection("100")
    assert stored is not None and stored.secret_token == f"n{got.index(True)}".encode()


async def test_needs_signin_is_set_and_cleared_by_a_successful_rotation(store: Store) -> None:
    await store.put_sfmc_connection(connection("100", secret_token=b"first"))
    assert await store.mark_sfmc_needs_signin("100", "invalid_grant", now=1100.0) is True
    stored = await store.get_sfmc_connection("100")
    assert stored is not None
    assert (stored.needs_signin, stored.needs_signin_why) == (True, "invalid_grant")
    assert await store.mark_sfmc_needs_signin("999", "invalid_grant", now=1100.0) is False
    await store.rotate_sfmc_secret("100", b"first", b"second", now=1200.0)
    stored = await store.get_sfmc_connection("100")
    assert stored is not None and (stored.needs_signin, stored.needs_signin_why) == (False, "")


async def test_binary_secrets_survive_exactly(store: Store) -> None:
    secret = bytes(range(256))
    await store.put_sfmc_connection(connection("100", secret_token=secret))
    stored = await store.get_sfmc_connection("100")
    assert stored is not None and stored.secret_token == secret
    assert "secret_token" not in repr(stored) or secret not in repr(stored).encode()


def test_connection_repr_hides_the_secret() -> None:
    assert "encrypted-refresh" not in repr(connection())
    assert "csrf-h1" not in repr(session())


async def test_reencrypting_changes_only_the_secret(store: Store) -> None:
    await store.put_sfmc_connection(connection("100", secret_token=b"under-old-key"))
    await store.mark_sfmc_needs_signin("100", "invalid_grant", now=1100.0)
    before = await store.get_sfmc_connection("100")
    assert await store.reencrypt_sfmc_secret("100", b"stale", b"x") is False
    assert await store.reencrypt_sfmc_secret("100", b"under-old-key", b"under-new-key") is True
    after = await store.get_sfmc_connection("100")
    assert before is not None and after is not None
    assert after == replace(before, secret_token=b"under-new-key")
