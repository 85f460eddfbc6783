"""Server-side admin sessions: the cookie, logout, absolute lifetime, legacy token replay."""

from __future__ import annotations

import time

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from activity import create_app
from activity.admin.sessions import (
    COOKIE_NAME,
    AdminIdentity,
    AdminSession,
    hash_id,
    identity_from_claims,
    is_admin_path,
)
from activity.appkeys import STORE
from activity.config import Settings
from activity.devtools.jb import TEST_SECRET, sign
from activity.errors import AuthError
from tests.admin_support import (
    MID_A,
    ClientFactory,
    ServerFactory,
    admin_client,
    csrf_from,
    login,
    login_token,
    sso_claims,
)

pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")


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
    for path in ("/sso/login", "/sso/callback", "/running/hover"):
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
    assert MID_A not in value, "the cookie is only a random id"
    assert (await client.get("/settings")).status == 200, "and a client sends it back"


async def test_journey_builder_routes_never_set_a_session_cookie(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert "Set-Cookie" not in resp.headers


async def _settings_with_cookie(client: TestClient, value: str) -> int:
    resp = await client.get("/settings", headers={"Cookie": f"{COOKIE_NAME}={value}"})
    return resp.status


def _cookie_value(resp: ClientResponse) -> str:
    (header,) = [h for h in resp.headers.getall("Set-Cookie") if h.startswith(COOKIE_NAME)]
    return header.split(";", 1)[0].split("=", 1)[1]


async def test_the_cookie_is_a_random_id_and_the_database_keeps_only_its_hash(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, settings: Settings
) -> None:
    app = create_app(settings)
    server = await aiohttp_server(app)
    client = await admin_client(aiohttp_server, aiohttp_client, server)
    value = _cookie_value(await login(client))
    assert len(value) == 43, "256 random bits, URL-safe base64"
    store = app[STORE]
    record = await store.get_session(hash_id(value), time.time())
    assert record is not None and record.mid == MID_A
    assert await store.get_session(value, time.time()) is None, "not stored as is"
    other = _cookie_value(await login(await admin_client(aiohttp_server, aiohttp_client, server)))
    assert other != value


async def test_a_logged_out_cookie_is_refused(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, settings: Settings
) -> None:
    server = await aiohttp_server(create_app(settings))
    client = await admin_client(aiohttp_server, aiohttp_client, server)
    copied = _cookie_value(await login(client))
    csrf = csrf_from(await (await client.get("/settings")).text())
    resp = await client.post("/logout", data={"csrf_token": csrf})
    assert resp.status == 200
    cleared = [h for h in resp.headers.getall("Set-Cookie") if h.startswith(COOKIE_NAME)]
    assert cleared and "Max-Age=0" in cleared[0]
    # Someone who copied the cookie before the logout, in another browser:
    thief = await admin_client(aiohttp_server, aiohttp_client, server)
    assert await _settings_with_cookie(thief, copied) == 401
    assert (
        await thief.get("/settings/deliveries", headers={"Cookie": f"{COOKIE_NAME}={copied}"})
    ).status == 401


async def test_signing_in_again_ends_the_previous_session(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, settings: Settings
) -> None:
    server = await aiohttp_server(create_app(settings))
    client = await admin_client(aiohttp_server, aiohttp_client, server)
    first = _cookie_value(await login(client))
    second = _cookie_value(await login(client))
    assert first != second
    other = await aiohttp_client(server)  # no cookie jar of its own
    assert await _settings_with_cookie(other, first) == 401
    assert await _settings_with_cookie(other, second) == 200


async def test_sessions_end_eight_hours_after_sign_in_however_busy(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, settings: Settings
) -> None:
    app = create_app(settings)
    client = await admin_client(aiohttp_server, aiohttp_client, app)
    value = _cookie_value(await login(client))
    record = await app[STORE].get_session(hash_id(value), time.time())
    assert record is not None
    assert record.expires_at - record.created_at == 8 * 3600 == settings.session_max_age_seconds
    assert await app[STORE].get_session(hash_id(value), record.expires_at - 1) is not None
    assert await app[STORE].get_session(hash_id(value), record.expires_at) is None
    # Use does not extend it (absolute, not idle).
    await client.get("/settings")
    again = await app[STORE].get_session(hash_id(value), time.time())
    assert again is not None and again.expires_at == record.expires_at


async def test_a_replayed_legacy_token_is_refused(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, settings: Settings
) -> None:
    server = await aiohttp_server(create_app(settings))
    token = login_token()
    first = await admin_client(aiohttp_server, aiohttp_client, server)
    assert (await login(first, token)).status == 302
    replay = await admin_client(aiohttp_server, aiohttp_client, server)
    resp = await login(replay, token)
    assert resp.status == 401 and "already used" in await resp.text()
    assert not any(h.startswith(COOKIE_NAME) for h in resp.headers.getall("Set-Cookie", []))
    assert (await replay.get("/settings")).status == 401


async def test_a_legacy_token_without_jti_is_refused(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, settings: Settings
) -> None:
    client = await admin_client(aiohttp_server, aiohttp_client, create_app(settings))
    for jti in (None, "", 5, "x" * 500, "a\nb"):
        claims = sso_claims()
        if jti is None:
            del claims["jti"]
        else:
            claims["jti"] = jti
        resp = await login(client, sign(claims, TEST_SECRET).decode())
        assert resp.status == 401, jti
    assert (await client.get("/settings")).status == 401


async def test_garbage_cookies_are_refused(client: TestClient) -> None:
    for value in ("garbage", "A" * 43, "A" * 44, "", "=" * 43, "a" * 5000):
        assert await _settings_with_cookie(client, value) == 401, value
