"""The admin session cookie: key derivation, cookie attributes, lifetime, tampering."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from cryptography.fernet import Fernet

from activity import create_app
from activity.admin.sessions import (
    COOKIE_NAME,
    AdminIdentity,
    AdminSession,
    identity_from_claims,
    is_admin_path,
    session_key,
)
from activity.config import Settings
from activity.devtools.jb import test_settings
from activity.errors import AuthError
from tests.admin_support import (
    MID_A,
    ClientFactory,
    ServerFactory,
    admin_client,
    login,
    sso_claims,
)

pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")


def test_session_key_is_derived_from_the_first_encryption_key(tmp_path: Path) -> None:
    base = test_settings(tmp_path)
    key = session_key(base)
    assert len(key) == 32
    assert session_key(base) == key, "every instance derives the same key"
    rotated = replace(base, encryption_keys=("x" * 44, *base.encryption_keys))
    assert session_key(rotated) != key
    assert session_key(replace(base, jwt_secret="other")) == key, "JWT secret unused here"
    assert key != base.encryption_keys[0].encode()[:32], "derived, not the key itself"


def test_session_key_falls_back_to_the_jwt_secret(tmp_path: Path) -> None:
    base = replace(test_settings(tmp_path), encryption_keys=())
    assert session_key(base) == session_key(base)
    assert session_key(base) != session_key(replace(base, jwt_secret="another-secret"))
    assert base.jwt_secret.encode() not in session_key(base)


def test_identity_from_claims_reads_legacy_sso_claims() -> None:
    identity = identity_from_claims(sso_claims(mid=500000001, eid=500000000, user_id=42))
    assert identity == AdminIdentity("500000001", "500000000", "42", "admin@example.com")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": 1}, "missing_mid"),
        ({"request": {"organization": {"id": ""}, "user": {"id": "1"}}}, "missing_mid"),
        ({"request": {"organization": {"id": True}, "user": {"id": "1"}}}, "missing_mid"),
        ({"request": {"organization": {"id": ["1"]}, "user": {"id": "1"}}}, "missing_mid"),
        ({"request": {"organization": {"id": "5\n1"}, "user": {"id": "1"}}}, "missing_mid"),
        ({"request": {"organization": {"id": "1" * 300}, "user": {"id": "1"}}}, "missing_mid"),
        ({"request": {"organization": {"id": "5"}}}, "missing_user"),
        ({"request": "nonsense"}, "missing_mid"),
    ],
)
def test_identity_needs_a_business_unit_and_a_user(claims: dict[str, object], reason: str) -> None:
    with pytest.raises(AuthError) as caught:
        identity_from_claims(claims)
    assert caught.value.reason == reason


def test_csrf_check_is_exact() -> None:
    session = AdminSession(AdminIdentity("1", "", "u", ""), "token-123")
    assert session.csrf_ok("token-123")
    for wrong in ("", "token-12", "token-1234", None, ["token-123"], 123):
        assert not session.csrf_ok(wrong)


def test_only_admin_paths_carry_sessions() -> None:
    for path in ("/login", "/logout", "/settings", "/settings/test", "/settings/delete"):
        assert is_admin_path(path)
    for path in ("/execute", "/save", "/config.json", "/settingsx", "/", "/healthz"):
        assert not is_admin_path(path)


async def test_cookie_is_secure_httponly_samesite_none_and_bounded(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, settings: Settings
) -> None:
    client = await admin_client(aiohttp_server, aiohttp_client, create_app(settings))
    resp = await login(client)
    assert resp.status == 302
    (header,) = resp.headers.getall("Set-Cookie")
    name_value, *attributes = header.split("; ")
    name, value = name_value.split("=", 1)
    assert name == COOKIE_NAME
    assert {"Secure", "HttpOnly", "SameSite=None", "Partitioned", "Path=/"} <= set(attributes)
    assert f"Max-Age={settings.session_max_age_seconds}" in attributes
    assert any(a.startswith("Expires=") and a.endswith(" GMT") for a in attributes)
    assert MID_A not in value, "the cookie is encrypted"
    assert (await client.get("/settings")).status == 200, "and a client sends it back"


async def test_journey_builder_routes_never_set_a_session_cookie(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert "Set-Cookie" not in resp.headers


def _forge_cookie(settings: Settings, *, created: float, written: float) -> str:
    fernet = Fernet(base64.urlsafe_b64encode(session_key(settings)))
    data = {
        "created": int(created),
        "session": {"mid": MID_A, "eid": "", "uid": "u", "email": "", "csrf": "c"},
    }
    return fernet.encrypt_at_time(json.dumps(data).encode(), int(written)).decode()


async def _settings_with_cookie(client: TestClient, value: str) -> int:
    resp = await client.get("/settings", headers={"Cookie": f"{COOKIE_NAME}={value}"})
    return resp.status


async def test_a_cookie_made_with_the_session_key_is_accepted(
    client: TestClient, settings: Settings
) -> None:
    now = time.time()
    cookie = _forge_cookie(settings, created=now, written=now)
    assert await _settings_with_cookie(client, cookie) == 200, "the forging helper is faithful"


async def test_an_old_cookie_is_refused(client: TestClient, settings: Settings) -> None:
    old = time.time() - settings.session_max_age_seconds - 120
    assert (
        await _settings_with_cookie(client, _forge_cookie(settings, created=old, written=old))
        == 401
    )


async def test_a_session_older_than_max_age_is_refused_even_if_rewritten(
    client: TestClient, settings: Settings
) -> None:
    old = time.time() - settings.session_max_age_seconds - 120
    cookie = _forge_cookie(settings, created=old, written=time.time())
    assert await _settings_with_cookie(client, cookie) == 401


async def test_tampered_or_foreign_cookies_are_refused(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    now = time.time()
    good = _forge_cookie(settings, created=now, written=now)
    tampered = good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB")
    other_deployment = _forge_cookie(
        replace(settings, encryption_keys=(Fernet.generate_key().decode(),)),
        created=now,
        written=now,
    )
    plain = base64.urlsafe_b64encode(json.dumps({"session": {"mid": MID_A}}).encode()).decode()
    for value in (tampered, other_deployment, plain, "garbage"):
        assert await _settings_with_cookie(client, value) == 401, value
