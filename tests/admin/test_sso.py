"""POST /login (legacy Marketing Cloud app SSO) and POST /logout."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from activity import create_app
from activity.admin.sessions import COOKIE_NAME
from activity.admin.sso import session_lifetime
from activity.config import Settings
from activity.devtools.jb import TEST_SECRET
from activity.ops.middlewares import FRAME_ANCESTORS
from tests.admin_support import (
    MID_A,
    ClientFactory,
    ServerFactory,
    admin_client,
    csrf_from,
    login,
    login_token,
    signed_in,
    sso_claims,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning"),
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]


@pytest.fixture
async def admin(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, settings: Settings
) -> TestClient:
    return await admin_client(aiohttp_server, aiohttp_client, create_app(settings))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned() -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(sso_claims()).encode())}."


def _rs256() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return jwt.encode(sso_claims(), pem, algorithm="RS256")


def _hs256_signed_with_public_key_confusion() -> str:
    # An HMAC-SHA256 signature under a header claiming RS256: the algorithm pin refuses it.
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{_b64(json.dumps(sso_claims()).encode())}"
    mac = hmac.new(TEST_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


BAD_TOKENS = {
    "forged (other secret)": lambda: login_token("not-the-package-secret-0123456789"),
    "expired": lambda: login_token(exp_in=-3600),
    "missing exp": lambda: login_token(exp_in=None),
    "unsigned (alg none)": _unsigned,
    "HS512 with the right secret": lambda: jwt.encode(sso_claims(), TEST_SECRET, algorithm="HS512"),
    "RS256": _rs256,
    "header says RS256": _hs256_signed_with_public_key_confusion,
    "signature stripped": lambda: login_token().rsplit(".", 1)[0] + ".",
    "claims edited after signing": lambda: _edit_claims(login_token()),
    "garbage": lambda: "not-a-jwt",
    "empty": lambda: "",
    "json instead of a jwt": lambda: json.dumps(sso_claims()),
    "no business unit": lambda: jwt.encode(
        {"exp": int(time.time()) + 60, "request": {"user": {"id": "1"}}}, TEST_SECRET
    ),
    "no user": lambda: jwt.encode(
        {"exp": int(time.time()) + 60, "request": {"organization": {"id": MID_A}}}, TEST_SECRET
    ),
}


def _edit_claims(token: str) -> str:
    header, _payload, signature = token.split(".")
    edited = sso_claims(mid="999999999")
    return f"{header}.{_b64(json.dumps(edited).encode())}.{signature}"


async def test_valid_login_starts_a_session_and_redirects_to_settings(admin: TestClient) -> None:
    resp = await login(admin, mid=MID_A, email="maria@example.com")
    assert resp.status == 302
    assert resp.headers["Location"] == "/settings"
    assert COOKIE_NAME in resp.cookies
    page = await admin.get("/settings")
    html = await page.text()
    assert page.status == 200
    assert f"Business unit {MID_A}" in html
    assert "maria@example.com" in html


async def test_numeric_claims_are_accepted(admin: TestClient) -> None:
    resp = await login(admin, mid=int(MID_A), eid=500000000, user_id=12345)
    assert resp.status == 302
    page = await (await admin.get("/settings")).text()
    assert f"Business unit {MID_A}" in page and "enterprise 500000000" in page


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_bad_login_tokens_get_a_401_page_and_no_session(admin: TestClient, case: str) -> None:
    resp = await login(admin, token=BAD_TOKENS[case]())
    html = await resp.text()
    assert resp.status == 401, case
    assert resp.content_type == "text/html"
    assert "Set-Cookie" not in resp.headers, case
    assert "AppExchange" in html and "Rokt Calendar" in html, "the page says what to do"
    assert resp.headers["Cache-Control"] == "no-store"
    assert (await admin.get("/settings")).status == 401, case


async def test_the_401_page_explains_expiry(admin: TestClient) -> None:
    resp = await login(admin, token=login_token(exp_in=-3600))
    assert "expired" in await resp.text()


async def test_a_login_without_the_jwt_field_is_refused(admin: TestClient) -> None:
    for data in ({}, {"token": login_token()}):
        resp = await admin.post("/login", data=data, allow_redirects=False)
        assert resp.status == 401
        assert "Set-Cookie" not in resp.headers
    raw = await admin.post("/login", data=login_token(), allow_redirects=False)
    # The token comes in the form field, as SFMC posts it: a bare body is not a form.
    assert raw.status == 400 and (await raw.json())["reason"] == "bad_form"
    assert "Set-Cookie" not in raw.headers


async def test_exp_within_leeway_is_accepted_and_beyond_is_refused(admin: TestClient) -> None:
    assert (await login(admin, exp_in=-5)).status == 302
    assert (await login(admin, exp_in=-120)).status == 401


async def test_login_as_another_business_unit_replaces_the_session(admin: TestClient) -> None:
    await signed_in(admin, mid=MID_A)
    await signed_in(admin, mid="500000777")
    html = await (await admin.get("/settings")).text()
    assert "Business unit 500000777" in html and f"Business unit {MID_A}" not in html


async def test_logout_ends_the_session(admin: TestClient) -> None:
    csrf = await signed_in(admin)
    resp = await admin.post("/logout", data={"csrf_token": csrf})
    assert resp.status == 200
    assert "signed out" in (await resp.text()).lower()
    (header,) = resp.headers.getall("Set-Cookie")
    assert header.startswith(f"{COOKIE_NAME}=")
    for attribute in ("Max-Age=0", "SameSite=None", "Secure", "Partitioned", "Path=/"):
        assert attribute in header.split("; "), "a deletion matching the partitioned cookie"
    assert (await admin.get("/settings")).status == 401


async def test_logout_needs_the_csrf_token(admin: TestClient) -> None:
    await signed_in(admin)
    resp = await admin.post("/logout", data={"csrf_token": "wrong"})
    assert resp.status == 403
    assert (await admin.get("/settings")).status == 200, "still signed in"


async def test_each_login_gets_a_fresh_csrf_token(admin: TestClient) -> None:
    first = await signed_in(admin)
    second = await signed_in(admin)
    assert first != second
    page = await (await admin.get("/settings")).text()
    assert csrf_from(page) == second


async def test_login_pages_may_be_framed_by_marketing_cloud_only(admin: TestClient) -> None:
    refused = await login(admin, token="nope")
    assert FRAME_ANCESTORS in refused.headers["Content-Security-Policy"]
    await signed_in(admin)
    page = await admin.get("/settings")
    assert FRAME_ANCESTORS in page.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in page.headers


async def test_opening_the_login_url_directly_explains_itself(admin: TestClient) -> None:
    resp = await admin.get("/login")
    html = await resp.text()
    assert resp.status == 401
    assert "cannot be opened directly" in html and "AppExchange" in html
    assert "Set-Cookie" not in resp.headers


def test_session_lifetime_reads_well() -> None:
    assert session_lifetime(8 * 3600) == "8 hours"
    assert session_lifetime(3600) == "1 hour"
    assert session_lifetime(1800) == "30 minutes"
    assert session_lifetime(5400) == "90 minutes"
    assert session_lifetime(10) == "1 minute"
