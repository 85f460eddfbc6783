"""JWT and session attacks, each refused with nothing stored, queued or signed in.

test_lifecycle.py and test_sso.py hold the per-route 401 reasons for the common bad tokens;
this suite adds the confusion attacks, replays, cross-use of login and execute tokens, and
the session attacks across every admin page, and checks that nothing happened as a result.
Every log line written during these tests is searched for secrets and tokens.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from activity import create_app
from activity.admin.sessions import COOKIE_NAME
from activity.admin.settings_service import Actor
from activity.appkeys import SETTINGS_SERVICE, STORE
from activity.devtools.jb import (
    TEST_SECRET,
    event_arguments,
    execute_payload,
    lifecycle_payload,
    sign,
)
from activity.devtools.jb import test_settings as make_settings
from activity.journey.jwt_auth import EXP_LEEWAY_SECONDS
from tests.admin_support import (
    MID_A,
    MID_B,
    ClientFactory,
    ServerFactory,
    admin_client,
    login,
    login_token,
    signed_in,
    sso_claims,
)
from tests.log_scan import Watch, assert_clean, captured, record_lines

pytestmark = [
    pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning"),
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

JB_ROUTES = ("/execute", "/publish")


# --- forging ------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hmac_token(header: dict[str, Any], payload: Any, key: bytes) -> str:
    """A compact JWS with any header, HMAC-SHA256 over it with `key`."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def public_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def private_pem(kind: str) -> bytes:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


Forge = Callable[[dict[str, Any]], str]

# name -> (forge the token for these claims, the 401 reason)
ALGORITHM_CONFUSION: dict[str, tuple[Forge, str]] = {
    "alg none, no signature": (
        lambda c: hmac_token({"alg": "none", "typ": "JWT"}, c, b"").rsplit(".", 1)[0] + ".",
        "wrong_algorithm",
    ),
    "alg none with a valid HS256 signature": (
        lambda c: hmac_token({"alg": "none"}, c, TEST_SECRET.encode()),
        "wrong_algorithm",
    ),
    "alg NONE": (lambda c: hmac_token({"alg": "NONE"}, c, TEST_SECRET.encode()), "wrong_algorithm"),
    "alg hs256 (case)": (
        lambda c: hmac_token({"alg": "hs256"}, c, TEST_SECRET.encode()),
        "wrong_algorithm",
    ),
    "no alg": (lambda c: hmac_token({"typ": "JWT"}, c, TEST_SECRET.encode()), "wrong_algorithm"),
    "HS384 with our secret": (
        lambda c: jwt.encode(c, TEST_SECRET, algorithm="HS384"),
        "wrong_algorithm",
    ),
    "HS512 with our secret": (
        lambda c: jwt.encode(c, TEST_SECRET, algorithm="HS512"),
        "wrong_algorithm",
    ),
    "RS256 signed with a private key": (
        lambda c: jwt.encode(c, private_pem("rsa"), algorithm="RS256"),
        "wrong_algorithm",
    ),
    "ES256 signed with a private key": (
        lambda c: jwt.encode(c, private_pem("ec"), algorithm="ES256"),
        "wrong_algorithm",
    ),
    # The verifier is asked to treat our secret as an RSA public key.
    "RS256 header, HMAC with our secret": (
        lambda c: hmac_token({"alg": "RS256", "typ": "JWT"}, c, TEST_SECRET.encode()),
        "wrong_algorithm",
    ),
    # The classic confusion: HS256 keyed with a public key the attacker knows.
    "HS256 keyed with a public key PEM": (
        lambda c: hmac_token({"alg": "HS256", "typ": "JWT"}, c, public_pem()),
        "bad_signature",
    ),
    "embedded jwk names the attacker's key": (
        lambda c: hmac_token(
            {"alg": "HS256", "jwk": {"kty": "oct", "k": b64(b"attacker")}}, c, b"attacker"
        ),
        "bad_signature",
    ),
    "kid points at an empty file": (
        lambda c: hmac_token({"alg": "HS256", "kid": "../../../../dev/null"}, c, b""),
        "bad_signature",
    ),
    "jku names the attacker's key set": (
        lambda c: hmac_token({"alg": "HS256", "jku": "https://evil.example/jwks"}, c, b"evil"),
        "bad_signature",
    ),
}

OTHER_SECRETS = {
    "another package's secret": "another-package-jwt-signing-secret-0001",
    "our secret with a trailing newline": TEST_SECRET + "\n",
    "our secret with surrounding spaces": f" {TEST_SECRET} ",
    "our secret upper-cased": TEST_SECRET.upper(),
    "our secret minus its last character": TEST_SECRET[:-1],
    "empty secret": "",
}


def claims_for(route: str) -> dict[str, Any]:
    if route == "/execute":
        return execute_payload(event_arguments(mid=MID_A, eid=""))
    if route == "/login":
        return sso_claims()
    return lifecycle_payload()


# --- the service under attack -------------------------------------------------------------


@dataclass
class Env:
    app: web.Application
    jb: TestClient
    browser: Callable[[], Any]
    watch: Watch

    async def nothing_happened(self) -> None:
        assert await self.app[STORE].delivery_counts() == [], "nothing was queued"
        assert await self.app[STORE].list_lifecycle() == [], "no lifecycle call was recorded"


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture, watch: Watch) -> Any:
    caplog.set_level("DEBUG")
    yield
    assert_clean(record_lines(captured(caplog)), watch.all_secrets())


@pytest.fixture
async def env(
    tmp_path: Path,
    aiohttp_server: ServerFactory,
    aiohttp_client: ClientFactory,
    watch: Watch,
) -> AsyncIterator[Env]:
    settings = make_settings(tmp_path, run_delivery=False)
    watch.add(*settings.encryption_keys)
    app = create_app(settings)
    server = await aiohttp_server(app)
    for mid in (MID_A, MID_B):
        await app[SETTINGS_SERVICE].save(
            mid=mid,
            account_code=f"account-{mid}",
            client_id=f"client-{mid}",
            client_secret=f"secret-of-{mid}-0123456789",
            actor=Actor("test"),
        )
        watch.add(f"secret-of-{mid}-0123456789")

    async def browser() -> TestClient:
        return await admin_client(aiohttp_server, aiohttp_client, server)

    yield Env(app, await aiohttp_client(server), browser, watch)


async def refused(client: TestClient, route: str, token: str) -> str:
    """Post `token` where it would be honoured; return the 401 reason."""
    if route == "/login":
        resp = await login(client, token=token)
        assert resp.status == 401
        assert "Set-Cookie" not in resp.headers, "no session for a refused login"
        return "page"
    resp = await client.post(
        route, data=token.encode(), headers={"Content-Type": "application/jwt"}
    )
    assert resp.status == 401, await resp.text()
    body = await resp.json()
    assert TEST_SECRET not in json.dumps(body)
    return str(body["reason"])


# --- algorithm confusion and foreign secrets --------------------------------------------------


@pytest.mark.parametrize("route", [*JB_ROUTES, "/login"])
@pytest.mark.parametrize("case", list(ALGORITHM_CONFUSION))
async def test_algorithm_confusion_is_refused(env: Env, route: str, case: str) -> None:
    forge, reason = ALGORITHM_CONFUSION[case]
    token = forge(claims_for(route))
    got = await refused(env.jb, route, token)
    assert got in (reason, "page"), (case, got)
    await env.nothing_happened()


@pytest.mark.parametrize("route", [*JB_ROUTES, "/login"])
@pytest.mark.parametrize("case", list(OTHER_SECRETS))
async def test_tokens_signed_with_another_secret_are_refused(
    env: Env, route: str, case: str
) -> None:
    token = hmac_token(
        {"alg": "HS256", "typ": "JWT"}, claims_for(route), OTHER_SECRETS[case].encode()
    )
    assert await refused(env.jb, route, token) in ("bad_signature", "page")
    await env.nothing_happened()


# --- truncated and padded -----------------------------------------------------------------


@pytest.mark.parametrize("route", JB_ROUTES)
async def test_every_truncation_of_a_valid_token_is_refused(env: Env, route: str) -> None:
    token = sign(claims_for(route)).decode()
    header, payload, signature = token.split(".")
    cuts = {
        *range(1, len(header) + 1),
        *range(len(header) + 1, len(header) + 2 + len(payload), 7),
        *range(len(token) - len(signature), len(token)),
    }
    for cut in sorted(cuts):
        reason = await refused(env.jb, route, token[:cut])
        assert reason in ("malformed_token", "bad_signature"), (cut, reason)
    await env.nothing_happened()


PADDINGS: dict[str, Callable[[str], str]] = {
    "base64 padding on the signature": lambda t: t + "==",
    "one = on the signature": lambda t: t + "=",
    "one = on the payload": lambda t: t.replace(".", "=.", 2).replace("=.", ".", 1),
    "base64 padding on every segment": lambda t: ".".join(s + "=" for s in t.split(".")),
    "a fourth segment": lambda t: t + ".e30",
    "an empty fourth segment": lambda t: t + ".",
    "a NUL byte after it": lambda t: t + "\x00",
    "junk after it": lambda t: t + "junk",
    "Bearer prefix": lambda t: "Bearer " + t,
    "quoted as a JSON string": lambda t: json.dumps(t),
    "jwt= form field": lambda t: "jwt=" + t,
    "two tokens": lambda t: t + "\n" + t,
    "a space inside the payload": lambda t: t.replace(".", ". ", 1),
}


@pytest.mark.parametrize("route", [*JB_ROUTES, "/login"])
@pytest.mark.parametrize("case", list(PADDINGS))
async def test_padded_tokens_are_refused(env: Env, route: str, case: str) -> None:
    token = PADDINGS[case](sign(claims_for(route) | ({"exp": int(time.time()) + 300})).decode())
    reason = await refused(env.jb, route, token)
    assert reason in ("malformed_token", "bad_signature", "json_body", "page"), reason
    await env.nothing_happened()


async def test_surrounding_whitespace_is_not_padding(env: Env) -> None:
    """JB's raw body may end with a newline: that alone must not cost a contact."""
    token = sign(claims_for("/execute")).decode()
    resp = await env.jb.post("/execute", data=f"\r\n {token}\n\n".encode())
    assert resp.status == 200 and (await resp.json())["roktStatus"] == "queued"


# --- time claims --------------------------------------------------------------------------

TIME_CLAIMS: dict[str, tuple[Callable[[float], dict[str, Any]], str]] = {
    "nbf ten minutes ahead": (
        lambda now: {"nbf": int(now) + 600, "exp": int(now) + 1200},
        "not_yet_valid",
    ),
    "exp in 2^53 seconds": (lambda now: {"exp": 2**53}, "exp_too_far"),
    "exp in two hours": (lambda now: {"exp": int(now) + 7200}, "exp_too_far"),
}


@pytest.mark.parametrize("route", [*JB_ROUTES, "/login"])
@pytest.mark.parametrize("case", list(TIME_CLAIMS))
async def test_tokens_not_yet_valid_or_valid_too_long_are_refused(
    env: Env, route: str, case: str
) -> None:
    claims, reason = TIME_CLAIMS[case]
    token = sign(claims_for(route) | claims(time.time())).decode()
    got = await refused(env.jb, route, token)
    assert got in (reason, "page"), got
    await env.nothing_happened()


# --- replay ---------------------------------------------------------------------------------


async def test_an_execute_token_replayed_after_exp_is_refused(env: Env) -> None:
    # Valid for about 1.5 s more, counting the leeway.
    exp = time.time() - EXP_LEEWAY_SECONDS + 1.5
    token = sign(claims_for("/execute") | {"exp": exp})
    first = await env.jb.post("/execute", data=token)
    assert (await first.json())["roktStatus"] == "queued"
    again = await env.jb.post("/execute", data=token)
    assert await again.json() == await first.json(), "a replay within exp is JB's retry"
    await _sleep_until(exp + EXP_LEEWAY_SECONDS + 0.2)
    late = await env.jb.post("/execute", data=token)
    assert late.status == 401 and (await late.json())["reason"] == "expired"
    [count] = await env.app[STORE].delivery_counts()
    assert count.count == 1, "the replays queued nothing"


async def test_a_login_token_replayed_after_exp_starts_no_session(env: Env) -> None:
    exp = time.time() - EXP_LEEWAY_SECONDS + 1.5
    token = sign(sso_claims() | {"exp": exp}).decode()
    browser = await env.browser()
    assert (await login(browser, token=token)).status == 302
    await _sleep_until(exp + EXP_LEEWAY_SECONDS + 0.2)
    stranger = await env.browser()
    resp = await login(stranger, token=token)
    assert resp.status == 401 and "Set-Cookie" not in resp.headers
    assert "expired" in await resp.text()
    assert (await stranger.get("/settings")).status == 401


async def _sleep_until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - time.time()))


# --- a login token as an execute body, and the reverse ------------------------------------


async def test_a_login_token_posted_to_execute_queues_nothing(env: Env) -> None:
    """Both are signed with the package secret, so the signature passes; the claims are
    not an execute body, so the answer is `invalid` naming what is missing, and nothing is
    stored (there is no activity or contact to answer for)."""
    resp = await env.jb.post("/execute", data=login_token().encode())
    body = await resp.json()
    assert resp.status == 200
    assert body["roktStatus"] == "invalid"
    assert "activityId" in body["roktError"] and "keyValue" in body["roktError"]
    assert "Set-Cookie" not in resp.headers
    await env.nothing_happened()


@pytest.mark.parametrize("with_exp", [False, True])
async def test_an_execute_token_posted_to_login_starts_no_session(env: Env, with_exp: bool) -> None:
    """JB's execute tokens carry no exp, and never a business unit or a user: refused
    either way, whichever check comes first."""
    claims = claims_for("/execute") | ({"exp": int(time.time()) + 300} if with_exp else {})
    browser = await env.browser()
    resp = await login(browser, token=sign(claims).decode())
    assert resp.status == 401 and "Set-Cookie" not in resp.headers
    html = await resp.text()
    expected = "which business unit" if with_exp else "no expiry"
    assert expected in html
    assert (await browser.get("/settings")).status == 401
    lifecycle = sign(lifecycle_payload() | {"exp": int(time.time()) + 300}).decode()
    assert (await login(browser, token=lifecycle)).status == 401


# --- sessions -----------------------------------------------------------------------------

ADMIN_GETS = ("/settings", "/settings/delete", "/settings/deliveries")
ADMIN_POSTS = ("/settings", "/settings/test", "/settings/delete", "/logout")


async def test_one_business_unit_cannot_reach_anothers_data_by_naming_it(env: Env) -> None:
    browser = await env.browser()
    csrf = await signed_in(browser, mid=MID_A)
    env.watch.add(csrf)
    for path in ADMIN_GETS:
        for query in (f"?mid={MID_B}", f"?eid={MID_B}&mid={MID_B}", f"?organization.id={MID_B}"):
            html = await (await browser.get(path + query)).text()
            assert f"account-{MID_B}" not in html and f"client-{MID_B}" not in html, path
    fields = {
        "csrf_token": csrf,
        "mid": MID_B,
        "account_code": "hijacked",
        "client_id": "hijacked",
        "client_secret": "hijacked-secret-000",
        "confirm": "delete",
    }
    await browser.post("/settings", data=fields)
    await browser.post(f"/settings/delete?mid={MID_B}", data=fields)
    stored_b = await env.app[SETTINGS_SERVICE].get(MID_B)
    assert stored_b is not None and stored_b.account_code == f"account-{MID_B}"
    assert await env.app[SETTINGS_SERVICE].get(MID_A) is None, "A changed only itself"


async def test_posts_without_the_sessions_csrf_token_change_nothing(env: Env) -> None:
    victim = await env.browser()
    csrf = await signed_in(victim, mid=MID_A)
    other = await env.browser()
    other_csrf = await signed_in(other, mid=MID_A)
    env.watch.add(csrf, other_csrf)
    fields = {
        "account_code": "csrf-attack",
        "client_id": "x",
        "client_secret": "y",
        "confirm": "delete",
    }
    for path in ADMIN_POSTS:
        attempts = (
            fields,  # no token at all
            fields | {"csrf_token": other_csrf},  # a valid token of another session
            fields | {"csrf_token": csrf.upper()},
        )
        for data in attempts:
            resp = await victim.post(path, data=data, allow_redirects=False)
            assert resp.status == 403, (path, data.get("csrf_token"))
        in_header = await victim.post(path, data=fields, headers={"X-CSRF-Token": csrf})
        assert in_header.status == 403, "only the form field counts"
    stored = await env.app[SETTINGS_SERVICE].get(MID_A)
    assert stored is not None and stored.account_code == f"account-{MID_A}"
    assert (await victim.get("/settings")).status == 200, "still signed in: logout refused"


async def test_a_tampered_session_cookie_is_no_session_anywhere(env: Env) -> None:
    browser = await env.browser()
    csrf = await signed_in(browser, mid=MID_A)
    cookie = browser.session.cookie_jar.filter_cookies(browser.make_url("/"))[COOKIE_NAME].value
    env.watch.add(csrf, cookie)
    # Flip characters across the token, short of the last few (base64's spare bits).
    positions = range(0, len(cookie) - 4, max(1, len(cookie) // 25))
    forged = [cookie[:i] + ("A" if cookie[i] != "A" else "B") + cookie[i + 1 :] for i in positions]
    forged += [cookie[:-10], cookie + "A", cookie[::-1], cookie.replace("-", "_"), ""]
    forged = [f for f in forged if f != cookie]
    jb = env.jb
    for value in forged:
        headers = {"Cookie": f"{COOKIE_NAME}={value}"}
        for path in ADMIN_GETS:
            resp = await jb.get(path, headers=headers)
            assert resp.status == 401, (path, value)
        resp = await jb.post(
            "/settings",
            data={"csrf_token": csrf, "account_code": "tampered", "client_id": "x"},
            headers=headers,
        )
        assert resp.status == 401
    stored = await env.app[SETTINGS_SERVICE].get(MID_A)
    assert stored is not None and stored.account_code == f"account-{MID_A}"
    assert (await browser.get("/settings")).status == 200, "the real cookie still works"
