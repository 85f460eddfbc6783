"""The fake Marketing Cloud, exercised over real HTTP: the authorization-code flow, refresh
with rotation, client credentials, userinfo, tenants, recording and scripted failures."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest

from activity.devtools.bench.procs import free_port
from activity.devtools.fake_sfmc import BusinessUnit, FakeSfmc, start_fake_sfmc
from tests.clock import Clock

REDIRECT = "https://activity.example.com/sso/callback"
CID, SECRET = "sfmc-cid", "sfmc-csecret"


@pytest.fixture
def clock() -> Clock:
    return Clock(1_000_000.0)


@pytest.fixture
async def fake(clock: Clock) -> AsyncIterator[tuple[FakeSfmc, str]]:
    units = [
        BusinessUnit("100000001", "100000000", "Parent"),
        BusinessUnit("200000001", "200000000", "Elsewhere", tssd="tenant-b"),
    ]
    fake, url, runner = await start_fake_sfmc(
        client_id=CID, client_secret=SECRET, units=units, clock=clock
    )
    yield fake, url
    await runner.cleanup()


async def authorize(
    http: aiohttp.ClientSession,
    url: str,
    *,
    mid: str = "100000001",
    decision: str = "allow",
    scope: str = "offline data_extensions_read",
    state: str = "st-1",
    prefix: str = "",
) -> dict[str, str]:
    """Open the sign-in page, press a button, and return the redirect's query."""
    query = {
        "response_type": "code",
        "client_id": CID,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": state,
    }
    async with http.get(f"{url}{prefix}/v2/authorize?{urlencode(query)}") as page:
        assert page.status == 200, await page.text()
        assert page.headers["X-Frame-Options"] == "DENY"
        text = await page.text()
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', text))
    assert fields["state"] == state
    form = {**fields, "mid": mid, "decision": decision}
    async with http.post(f"{url}{prefix}/v2/authorize", data=form, allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        location = resp.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def post_token(
    http: aiohttp.ClientSession, url: str, body: Any, *, prefix: str = ""
) -> tuple[int, dict[str, Any]]:
    async with http.post(f"{url}{prefix}/v2/token", json=body) as resp:
        return resp.status, await resp.json()


def code_body(code: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": CID,
        "client_secret": SECRET,
        "redirect_uri": REDIRECT,
    }
    body.update(overrides)
    return body


async def test_the_authorization_code_flow_names_the_unit_and_the_tenant(
    http: aiohttp.ClientSession, fake: tuple[FakeSfmc, str]
) -> None:
    _, url = fake
    back = await authorize(http, url, mid="200000001")
    assert back["state"] == "st-1" and back["tssd"] == "tenant-b" and back["code"]
    status, tokens = await post_token(http, url, code_body(back["code"]), prefix="/tenant-b")
    assert status == 200, tokens
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 1079
    assert tokens["refresh_token"] and tokens["rest_instance_url"] == f"{url}/"
    assert tokens["soap_instance_url"] == f"{url}/"
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    async with http.get(f"{url}/tenant-b/v2/userinfo", headers=headers) as resp:
        assert resp.status == 200
        info = await resp.json()
    assert info["organization"]["member_id"] == 200000001
    assert info["organization"]["enterprise_id"] == 200000000
    assert info["user"]["email"] == "admin@example.com"
    async with http.get(f"{url}/fake-tenant/v2/userinfo", headers=headers) as resp:
        assert resp.status == 401, "a token of tenant-b is not valid at another tenant"


async def test_a_code_works_once_for_its_client_and_redirect_uri(
    http: aiohttp.ClientSession, fake: tuple[FakeSfmc, str], clock: Clock
) -> None:
    _, url = fake
    wrong_redirect = (await authorize(http, url))["code"]
    status, body = await post_token(
        http, url, code_body(wrong_redirect, redirect_uri="https://evil.example/cb")
    )
    assert (status, body["error"]) == (400, "invalid_grant")
    code = (await authorize(http, url))["code"]
    status, body = await post_token(http, url, code_body(code, client_secret="wrong"))
    assert (status, body["error"]) == (401, "invalid_client")
    assert (await post_token(http, url, code_body(code)))[0] == 200
    status, body = await post_token(http, url, code_body(code))
    assert (status, body["error"]) == (400, "invalid_grant"), "used codes are refused"
    late = (await authorize(http, url))["code"]
    clock.now += 601
    assert (await post_token(http, url, code_body(late)))[1]["error"] == "invalid_grant"
    wrong_tenant = (await authorize(http, url))["code"]
    status, body = await post_token(http, url, code_body(wrong_tenant), prefix="/tenant-b")
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_refresh_tokens_rotate(
    http: aiohttp.ClientSession, fake: tuple[FakeSfmc, str]
) -> None:
    _, url = fake
    code = (await authorize(http, url))["code"]
    first = (await post_token(http, url, code_body(code)))[1]["refresh_token"]
    refresh = {"grant_type": "refresh_token", "client_id": CID, "client_secret": SECRET}
    status, tokens = await post_token(http, url, {**refresh, "refresh_token": first})
    assert status == 200 and tokens["refresh_token"] != first
    status, body = await post_token(http, url, {**refresh, "refresh_token": first})
    assert (status, body["error"]) == (400, "invalid_grant"), "the old one stops working"
    status, again = await post_token(
        http, url, {**refresh, "refresh_token": tokens["refresh_token"]}
    )
    assert status == 200
    async with http.post(f"{url}/__fake/revoke") as resp:
        assert resp.status == 200
    status, body = await post_token(http, url, {**refresh, "refresh_token": again["refresh_token"]})
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_no_refresh_token_without_the_offline_scope(
    http: aiohttp.ClientSession, fake: tuple[FakeSfmc, str]
) -> None:
    _, url = fake
    code = (await authorize(http, url, scope="data_extensions_read"))["code"]
    status, tokens = await post_token(http, url, code_body(code))
    assert status == 200 and "refresh_token" not in tokens


async def test_client_credentials_pick_the_business_unit(
    http: aiohttp.ClientSession, fake: tuple[FakeSfmc, str]
) -> None:
    _, url = fake
    body = {"grant_type": "client_credentials", "client_id": CID, "client_secret": SECRET}
    status, tokens = await post_token(http, url, {**body, "account_id": "200000001"})
    assert status == 200 and "refresh_token" not in tokens
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    async with http.get(f"{url}/v2/userinfo", headers=headers) as resp:
        assert (await resp.json())["organization"]["member_id"] == 200000001
    status, err = await post_token(http, url, {**body, "account_id": "999"})
    assert (status, err["error"]) == (400, "invalid_request")


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"grant_type": "password", "client_id": CID, "client_secret": SECRET}, 400,
         "unsupported_grant_type"),
        ({"grant_type": "client_credentials", "client_id": "x", "client_secret": SECRET}, 401,
         "invalid_client"),
        ({"grant_type": "authorization_code", "client_id": CID, "client_secret": SECRET}, 400,
         "invalid_request"),
        (["not", "an", "object"], 400, "invalid_request"),
    ],
)  # fmt: skip
async def test_bad_token_requests_get_oauth_errors(
    http: aiohttp.ClientSession, fake: tuple[FakeSfmc, str], body: Any, status: int, error: str
) -> None:
    _, url = fake
    got_status, got = await post_token(http, url, body)
    assert (got_status, got["error"]) == (status, error)


async def test_form_encoded_token_requests_are_refused(
    http: aiohttp.ClientSession, fake: tuple[FakeSfmc, str]
) -> None:
    _, url = fake
    form = {"grant_type": "client_credentials", "client_id": CID, "client_secret": SECRET}
    async with http.post(f"{url}/v2/token", data=form) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_request"


async def test_deny_and_scripted_errors_come_back_as_error(
    http: aiohttp.ClientSession, fake: tuple[FakeSfmc, str]
) -> None:
    _, url = fake
    back = await authorize(http, url, decision="deny")
    assert back == {"error": "access_denied", "state": "st-1"}
    async with http.post(
        f"{url}/__fake/fail", json={"endpoint": "authorize", "error": "user_not_licensed"}
    ) as resp:
        assert resp.status == 200
    query = urlencode(
        {"response_type": "code", "client_id": CID, "redirect_uri": REDIRECT, "state": "s9"}
    )
    async with http.get(f"{url}/v2/authorize?{query}", allow_redirects=False) as resp:
        assert resp.status == 302
        assert resp.headers["Location"] == f"{REDIRECT}?error=user_not_licensed&state=s9"


async def test_unknown_clients_and_bad_redirects_are_not_redirected(
    http: aiohttp.ClientSession, fake: tuple[FakeSfmc, str]
) -> None:
    fake_sfmc, url = fake
    for client_id, redirect in (("nope", REDIRECT), (CID, ""), (CID, "javascript:alert(1)")):
        query = urlencode(
            {"response_type": "code", "client_id": client_id, "redirect_uri": redirect}
        )
        async with http.get(f"{url}/v2/authorize?{query}", allow_redirects=False) as resp:
            assert resp.status == 400
    fake_sfmc.redirect_uris = {"https://registered.example/cb"}
    query = urlencode({"response_type": "code", "client_id": CID, "redirect_uri": REDIRECT})
    async with http.get(f"{url}/v2/authorize?{query}", allow_redirects=False) as resp:
        assert resp.status == 400


async def test_scripted_failures_then_normal_answers_and_the_record(
    http: aiohttp.ClientSession, fake: tuple[FakeSfmc, str]
) -> None:
    _, url = fake
    async with http.post(
        f"{url}/__fake/fail",
        json={"endpoint": "token", "status": 503, "count": 2, "body": {"error": "down"}},
    ) as resp:
        assert resp.status == 200
    body = {"grant_type": "client_credentials", "client_id": CID, "client_secret": SECRET}
    assert await post_token(http, url, body) == (503, {"error": "down"})
    assert (await post_token(http, url, body))[0] == 503
    assert (await post_token(http, url, body))[0] == 200
    async with http.get(f"{url}/__fake/requests?endpoint=token") as resp:
        record = (await resp.json())["requests"]
    assert [r["status"] for r in record] == [503, 503, 200]
    assert all(r["body"]["client_secret"] == "<redacted>" for r in record)
    assert SECRET not in str(record)


async def test_a_scripted_drop_closes_the_connection(
    http: aiohttp.ClientSession, fake: tuple[FakeSfmc, str]
) -> None:
    fake_sfmc, url = fake
    async with http.post(f"{url}/__fake/fail", json={"endpoint": "userinfo", "status": 0}):
        pass
    # A raw socket: aiohttp's client would quietly retry a GET whose connection dropped.
    host, port = urlsplit(url).hostname, urlsplit(url).port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /v2/userinfo HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b"", "closed without an answer"
    writer.close()
    assert fake_sfmc.calls("userinfo")[0].status == 599


async def test_control_routes_check_their_input(
    http: aiohttp.ClientSession, fake: tuple[FakeSfmc, str]
) -> None:
    fake_sfmc, url = fake
    for path, body in (
        ("/__fake/fail", {"status": 500}),
        ("/__fake/fail", {"endpoint": "token", "count": "many"}),
        ("/__fake/units", {"eid": "1"}),
        ("/__fake/user", {"name": "x"}),
    ):
        async with http.post(f"{url}{path}", json=body) as resp:
            assert resp.status == 400, path
    async with http.post(f"{url}/__fake/units", json={"mid": "300", "tssd": "t3"}) as resp:
        assert "300" in (await resp.json())["units"]
    async with http.post(f"{url}/__fake/user", json={"email": "b@example.com"}) as resp:
        assert resp.status == 200
    assert fake_sfmc.units["300"].tssd == "t3" and fake_sfmc.user.email == "b@example.com"
    back = await authorize(http, url, mid="300", prefix="/t3")
    assert back["tssd"] == "t3"


async def test_the_cli_serves_it(http: aiohttp.ClientSession) -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "activity", "fake-sfmc", "--port", str(port),
        "--client-id", "c1", "--client-secret", "s1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert f"http://127.0.0.1:{port}" in line.decode() and "s1" not in line.decode()
        body = {"grant_type": "client_credentials", "client_id": "c1", "client_secret": "s1"}
        status, tokens = await post_token(http, f"http://127.0.0.1:{port}", body)
        assert status == 200 and tokens["rest_instance_url"] == f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        await proc.wait()
