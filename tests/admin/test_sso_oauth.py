"""Sign in with Marketing Cloud (/sso/login, /sso/callback) against the fake over real HTTP."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from activity import create_app
from activity.admin.sessions import COOKIE_NAME
from activity.admin.sso_oauth import (
    SIGN_IN_BURST,
    SIGN_INS_PER_SECOND,
    STATE_COOKIE,
    safe_next,
)
from activity.appkeys import SIGN_INS
from activity.config import Settings
from activity.crypto import Keyring
from activity.devtools.fake_sfmc import BusinessUnit, Failure, FakeSfmc
from activity.devtools.jb import test_settings
from activity.ops.rate import TokenBucket
from tests.admin_support import ClientFactory, ServerFactory, admin_client, csrf_from
from tests.clock import Clock

MID_A, MID_B = "100000001", "100000002"


@pytest.fixture
def sso_settings(tmp_path: Path, sfmc: tuple[FakeSfmc, str]) -> Settings:
    _, url = sfmc
    return test_settings(
        tmp_path, sfmc_client_id="sfmc-cid", sfmc_client_secret="sfmc-csecret", sfmc_auth_url=url
    )


@pytest.fixture
async def server(aiohttp_server: ServerFactory, sso_settings: Settings) -> TestServer:
    return await aiohttp_server(create_app(sso_settings))


async def browser(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, server: TestServer
) -> TestClient:
    return await admin_client(aiohttp_server, aiohttp_client, server)


@dataclass
class Site:
    """The app signing in at the fake Marketing Cloud; browser() is a new cookie jar."""

    server: TestServer
    fake: FakeSfmc
    url: str
    http: aiohttp.ClientSession
    new_browser: Callable[[], Awaitable[TestClient]]

    async def browser(self) -> TestClient:
        return await self.new_browser()


@pytest.fixture
def site(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, server: TestServer,
    sfmc: tuple[FakeSfmc, str], http: aiohttp.ClientSession,
) -> Site:  # fmt: skip
    fake, url = sfmc
    return Site(server, fake, url, http, lambda: browser(aiohttp_server, aiohttp_client, server))


async def start_login(client: TestClient, next_path: str = "") -> dict[str, str]:
    """GET /sso/login; returns the authorize URL's query."""
    path = "/sso/login" + (f"?{urlencode({'next': next_path})}" if next_path else "")
    resp = await client.get(path, allow_redirects=False)
    assert resp.status == 302, await resp.text()
    return {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}


async def at_fake(
    http: aiohttp.ClientSession, url: str, query: dict[str, str], *, mid: str = MID_A,
    decision: str = "allow",
) -> dict[str, str]:  # fmt: skip
    """Press a button on the fake's sign-in page; returns the callback's query."""
    async with http.get(f"{url}/v2/authorize?{urlencode(query)}") as page:
        text = await page.text()
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', text))
    form = {**fields, "mid": mid, "decision": decision}
    async with http.post(f"{url}/v2/authorize", data=form, allow_redirects=False) as resp:
        location = resp.headers["Location"]
    assert "/sso/callback?" in location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def finish(client: TestClient, back: dict[str, str]) -> aiohttp.ClientResponse:
    return await client.get(f"/sso/callback?{urlencode(back)}", allow_redirects=False)


async def sign_in(
    client: TestClient, http: aiohttp.ClientSession, url: str, *, mid: str = MID_A,
    next_path: str = "",
) -> aiohttp.ClientResponse:  # fmt: skip
    return await finish(
        client, await at_fake(http, url, await start_login(client, next_path), mid=mid)
    )


async def test_login_redirects_to_authorize_with_a_bound_state(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, server: TestServer,
    sfmc: tuple[FakeSfmc, str], sso_settings: Settings,
) -> None:  # fmt: skip
    client = await browser(aiohttp_server, aiohttp_client, server)
    resp = await client.get("/sso/login", allow_redirects=False)
    location = resp.headers["Location"]
    assert location.startswith(f"{sfmc[1]}/v2/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert query["response_type"] == ["code"] and query["client_id"] == ["sfmc-cid"]
    assert query["redirect_uri"] == ["https://activity.example.com/sso/callback"]
    assert query["scope"] == ["offline data_extensions_read data_extensions_write"]
    assert len(query["state"][0]) >= 43
    (cookie,) = resp.headers.getall("Set-Cookie")
    assert cookie.startswith(f"{STATE_COOKIE}=") and "Max-Age=600" in cookie
    assert {"Secure", "HttpOnly", "SameSite=None", "Partitioned", "Path=/sso/"} <= set(
        cookie.split("; ")
    )
    assert query["state"][0] not in cookie, "the cookie is not the state itself"


async def test_the_full_flow_signs_in_to_the_right_business_unit_and_stores_the_connection(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, server: TestServer,
    sfmc: tuple[FakeSfmc, str], http: aiohttp.ClientSession, sso_settings: Settings,
) -> None:  # fmt: skip
    fake, url = sfmc
    client = await browser(aiohttp_server, aiohttp_client, server)
    resp = await sign_in(client, http, url, mid=MID_B, next_path="/settings/deliveries")
    assert resp.status == 302 and resp.headers["Location"] == "/settings/deliveries"
    cookies = resp.headers.getall("Set-Cookie")
    assert any(c.startswith(f"{COOKIE_NAME}=") for c in cookies)
    page = await client.get("/settings")
    html = await page.text()
    assert page.status == 200 and f"Business unit {MID_B}" in html
    assert "Connected to Marketing Cloud as admin@example.com on " in html
    # The token and userinfo calls went to the fake, with the code from the callback.
    assert [r.status for r in fake.calls("token")] == [200]
    assert [r.status for r in fake.calls("userinfo")] == [200]
    assert fake.calls("token")[0].body["code"] and fake.calls("token")[0].tssd == ""


async def test_the_refresh_token_is_stored_encrypted(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, server: TestServer,
    sfmc: tuple[FakeSfmc, str], http: aiohttp.ClientSession, sso_settings: Settings,
) -> None:  # fmt: skip
    fake, url = sfmc
    client = await browser(aiohttp_server, aiohttp_client, server)
    assert (await sign_in(client, http, url)).status == 302
    (refresh_token,) = fake.refresh_tokens
    from activity.appkeys import STORE

    stored = await server.app[STORE].get_sfmc_connection(MID_A)
    assert stored is not None and refresh_token.encode() not in stored.secret_token
    assert Keyring(sso_settings.encryption_keys).decrypt(stored.secret_token) == refresh_token
    assert (stored.tssd, stored.user_email, stored.auth_url) == (
        "fake-tenant", "admin@example.com", url,
    )  # fmt: skip


async def test_the_tenant_named_in_the_callback_is_used(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, sfmc: tuple[FakeSfmc, str],
    http: aiohttp.ClientSession, sso_settings: Settings,
) -> None:  # fmt: skip
    fake, url = sfmc
    fake.units["300000001"] = BusinessUnit("300000001", "300000000", "Other", tssd="tenant-c")
    settings = replace(sso_settings, sfmc_auth_url=f"{url}/{{tssd}}", sfmc_subdomain="login-tenant")
    client = await admin_client(aiohttp_server, aiohttp_client, create_app(settings))
    query = await start_login(client)
    back = await at_fake(http, url, query, mid="300000001")
    assert back["tssd"] == "tenant-c"
    resp = await finish(client, back)
    assert resp.status == 302, await resp.text()
    assert [r.tssd for r in fake.calls("token")] == ["tenant-c"]
    assert [r.tssd for r in fake.calls("userinfo")] == ["tenant-c"]


async def no_session(client: TestClient) -> None:
    page = await client.get("/settings")
    assert page.status == 401 and 'href="/sso/login" id="sso-sign-in"' in await page.text()
    assert not any(c.key == COOKIE_NAME for c in client.session.cookie_jar)


async def test_a_reused_state_gets_no_session(site: Site) -> None:
    url, http = site.url, site.http
    client = await site.browser()
    query = await start_login(client)
    back = await at_fake(http, url, query)
    assert (await finish(client, back)).status == 302
    await client.post(
        "/logout", data={"csrf_token": csrf_from(await (await client.get("/settings")).text())}
    )
    # The same callback again (say, from the browser history), even with a fresh code.
    again = await at_fake(http, url, query)
    resp = await finish(client, again)
    assert resp.status == 400 and "expired or was already used" in await resp.text()
    await no_session(client)


async def test_a_foreign_state_gets_no_session(site: Site) -> None:
    """An attacker starts a login, then gets a victim's browser to finish it (login CSRF)."""
    url, http = site.url, site.http
    attacker = await site.browser()
    victim = await site.browser()
    back = await at_fake(http, url, await start_login(attacker))
    await start_login(victim)  # the victim has a state cookie of its own
    resp = await finish(victim, back)
    assert resp.status == 400 and "another browser" in await resp.text()
    await no_session(victim)
    # And the state is spent: the attacker cannot use it either.
    assert (await finish(attacker, back)).status == 400
    await no_session(attacker)


async def test_an_unknown_or_missing_state_gets_no_session(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, server: TestServer,
) -> None:  # fmt: skip
    client = await browser(aiohttp_server, aiohttp_client, server)
    await start_login(client)
    for query in ("code=x", "code=x&state=made-up", "code=x&state=" + "a" * 5000, "state=\x00"):
        resp = await client.get(f"/sso/callback?{query}", allow_redirects=False)
        assert resp.status == 400, query
    await no_session(client)


async def test_an_expired_state_gets_no_session(site: Site) -> None:
    http = site.http
    from activity.appkeys import STORE
    from activity.storage.models import SsoState

    client = await site.browser()
    query = await start_login(client)
    store = site.server.app[STORE]
    from activity.admin.sessions import hash_id

    taken = await store.take_sso_state(hash_id(query["state"]), 0.0)
    assert taken is not None
    await store.put_sso_state(replace(taken, created_at=0.0, expires_at=1.0))
    resp = await finish(client, await at_fake(http, site.url, query))
    assert resp.status == 400
    await no_session(client)
    assert isinstance(taken, SsoState)


async def test_a_refused_code_gets_no_session(site: Site) -> None:
    fake, url, http = site.fake, site.url, site.http
    client = await site.browser()
    back = await at_fake(http, url, await start_login(client))
    resp = await finish(client, {**back, "code": "forged"})
    assert resp.status == 401 and "refused the sign-in code" in await resp.text()
    assert [r.status for r in fake.calls("token")] == [400]
    await no_session(client)


@pytest.mark.parametrize(
    ("error", "says"),
    [
        ("access_denied", "declined"),
        ("user_not_licensed", "not allowed to use this app"),
        ("server_error", "did not sign you in (server_error)"),
    ],
)
async def test_an_error_answer_gets_no_session(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, server: TestServer,
    sfmc: tuple[FakeSfmc, str], http: aiohttp.ClientSession, error: str, says: str,
) -> None:  # fmt: skip
    fake, url = sfmc
    client = await browser(aiohttp_server, aiohttp_client, server)
    query = await start_login(client)
    fake.fail("authorize", [Failure(error=error)])
    async with http.get(f"{url}/v2/authorize?{urlencode(query)}", allow_redirects=False) as r:
        back = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["Location"]).query).items()}
    assert back["error"] == error
    resp = await finish(client, back)
    assert resp.status == 401 and says in await resp.text()
    await no_session(client)
    assert fake.calls("token") == []


async def test_deny_on_the_sign_in_page_gets_no_session(site: Site) -> None:
    http = site.http
    client = await site.browser()
    back = await at_fake(http, site.url, await start_login(client), decision="deny")
    assert (await finish(client, back)).status == 401
    await no_session(client)


@pytest.mark.parametrize("failure", [Failure(500), Failure(401, body={"message": "no"})])
async def test_a_userinfo_failure_gets_no_session(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, server: TestServer,
    sfmc: tuple[FakeSfmc, str], http: aiohttp.ClientSession, failure: Failure,
) -> None:  # fmt: skip
    fake, url = sfmc
    client = await browser(aiohttp_server, aiohttp_client, server)
    fake.fail("userinfo", [failure])
    resp = await sign_in(client, http, url)
    assert resp.status == (503 if failure.status == 500 else 401)
    await no_session(client)
    from activity.appkeys import STORE

    assert await server.app[STORE].get_sfmc_connection(MID_A) is None


async def test_userinfo_naming_no_business_unit_gets_no_session(site: Site) -> None:
    fake, url, http = site.fake, site.url, site.http
    client = await site.browser()
    fake.fail("userinfo", [Failure(200, body={"user": {"sub": "x"}, "organization": {}})])
    resp = await sign_in(client, http, url)
    assert resp.status == 401 and "which business unit" in await resp.text()
    await no_session(client)


async def test_a_second_business_unit_sees_nothing_of_the_first(site: Site) -> None:
    fake, url, http = site.fake, site.url, site.http
    fake.user = replace(fake.user, email="first@example.com")
    first = await site.browser()
    assert (await sign_in(first, http, url, mid=MID_A)).status == 302
    csrf = csrf_from(await (await first.get("/settings")).text())
    form = {"csrf_token": csrf, "account_code": "first-acct", "client_id": "first-client",
            "client_secret": "first-secret"}  # fmt: skip
    assert (await first.post("/settings", data=form, allow_redirects=False)).status == 303
    fake.user = replace(fake.user, email="second@example.com")
    second = await site.browser()
    assert (await sign_in(second, http, url, mid=MID_B)).status == 302
    html = await (await second.get("/settings")).text()
    assert f"Business unit {MID_B}" in html and "Not configured yet" in html
    for leak in ("first-acct", "first-client", "first@example.com", MID_A):
        assert leak not in html, leak
    deliveries = await (await second.get("/settings/deliveries")).text()
    assert "first-acct" not in deliveries and MID_A not in deliveries
    own = await (await first.get("/settings")).text()
    assert "first-acct" in own and "Connected to Marketing Cloud as first@example.com" in own


async def test_disconnect_forgets_the_connection(site: Site) -> None:
    http = site.http
    from activity.appkeys import STORE

    client = await site.browser()
    await sign_in(client, http, site.url)
    csrf = csrf_from(await (await client.get("/settings")).text())
    resp = await client.post("/settings/sfmc/disconnect", data={"csrf_token": "wrong"})
    assert resp.status == 403
    assert await site.server.app[STORE].get_sfmc_connection(MID_A) is not None
    resp = await client.post("/settings/sfmc/disconnect", data={"csrf_token": csrf})
    html = await resp.text()
    assert "Disconnected from Marketing Cloud." in html and "Not connected" in html
    assert await site.server.app[STORE].get_sfmc_connection(MID_A) is None


async def test_a_refused_connection_asks_for_a_new_sign_in(site: Site) -> None:
    from activity.appkeys import CONNECTIONS, HTTP
    from activity.errors import SfmcGrantRefused

    fake, url, http = site.fake, site.url, site.http
    client = await site.browser()
    await sign_in(client, http, url)
    fake.revoke_refresh_tokens()
    with pytest.raises(SfmcGrantRefused):
        await site.server.app[CONNECTIONS].access_token(site.server.app[HTTP], MID_A)
    html = await (await client.get("/settings")).text()
    assert 'id="sfmc-connection-needs-signin"' in html and "Sign in again." in html
    assert (await sign_in(client, http, url)).status == 302
    assert 'id="sfmc-connection-needs-signin"' not in await (await client.get("/settings")).text()


async def test_sso_off_says_so(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, settings: Settings
) -> None:
    client = await admin_client(aiohttp_server, aiohttp_client, create_app(settings))
    resp = await client.get("/sso/login", allow_redirects=False)
    assert resp.status == 503 and "SFMC_CLIENT_ID" in await resp.text()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/settings/deliveries", "/settings/deliveries"),
        ("/settings?x=1", "/settings?x=1"),
        (None, "/settings"),
        ("", "/settings"),
        ("https://evil.example/", "/settings"),
        ("//evil.example/", "/settings"),
        ("/\\evil.example/", "/settings"),
        ("/x\\y", "/settings"),
        ("javascript:alert(1)", "/settings"),
        ("/a\nb", "/settings"),
        ("/" + "a" * 600, "/settings"),
    ],
)
def test_next_is_a_same_origin_path_only(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


async def test_a_foreign_next_is_ignored_end_to_end(site: Site) -> None:
    http = site.http
    client = await site.browser()
    resp = await sign_in(client, http, site.url, next_path="//evil.example/")
    assert resp.headers["Location"] == "/settings"


async def test_odd_callback_queries_get_a_page_not_a_500(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, server: TestServer,
) -> None:  # fmt: skip
    client = await browser(aiohttp_server, aiohttp_client, server)
    await start_login(client)
    for query in (
        "state=%ff%fe&code=%00", "error=%ff", "error=" + "x" * 5000, "state=a&state=b",
        "tssd=evil.example%2F&state=x&code=y", "code=" + "%F0%9F" * 100,
    ):  # fmt: skip
        resp = await client.get(f"/sso/callback?{query}", allow_redirects=False)
        assert resp.status in (400, 401), (query, resp.status)
        assert "Traceback" not in await resp.text()
    bad_cookie = {
        "Cookie": f"{STATE_COOKIE}=\udcff; {COOKIE_NAME}=x".encode(
            "utf-8", "surrogateescape"
        ).decode("latin-1")
    }
    resp = await client.get("/sso/callback?state=x&code=y", headers=bad_cookie)
    assert resp.status == 400
    await no_session(client)


async def test_a_garbled_token_answer_gets_no_session(site: Site) -> None:
    fake, url, http = site.fake, site.url, site.http
    client = await site.browser()
    fake.fail("token", [Failure(200, body={"token_type": "Bearer"})])
    resp = await sign_in(client, http, url)
    assert resp.status == 401 and "refused to finish" in await resp.text()
    fake.fail("token", [Failure(0)])
    resp = await sign_in(client, http, url)
    assert resp.status == 503 and "could not be reached" in await resp.text()
    await no_session(client)


async def test_a_forged_tssd_is_never_called(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, sfmc: tuple[FakeSfmc, str],
    http: aiohttp.ClientSession, sso_settings: Settings,
) -> None:  # fmt: skip
    fake, url = sfmc
    settings = replace(sso_settings, sfmc_auth_url=f"{url}/{{tssd}}", sfmc_subdomain="login")
    client = await admin_client(aiohttp_server, aiohttp_client, create_app(settings))
    back = await at_fake(http, url, await start_login(client))
    resp = await finish(client, {**back, "tssd": "127.0.0.1:1/x?"})
    assert resp.status == 401 and "invalid tenant" in await resp.text()
    assert fake.calls("token") == []
    await no_session(client)


NESTED = b"[" * 20_000 + b"]" * 20_000  # under the 64 KB read limit


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("/v2/token", NESTED),
        ("/v2/token", b'{"access_token": "t", "expires_in": NaN, "x": ' + NESTED + b"}"),
        ("/v2/userinfo", NESTED),
        ("/v2/userinfo", b"<html><body>Maintenance</body></html>"),
    ],
)
async def test_marketing_cloud_answering_garbage_is_a_clear_page_and_no_session(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path,
    caplog: pytest.LogCaptureFixture, endpoint: str, body: bytes,
) -> None:  # fmt: skip
    async def token(_request: web.Request) -> web.Response:
        if endpoint == "/v2/token":
            return web.Response(body=body, content_type="application/json")
        return web.json_response({"access_token": "t", "expires_in": 1200})

    async def userinfo(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    remote = web.Application()
    remote.router.add_post("/v2/token", token)
    remote.router.add_get("/v2/userinfo", userinfo)
    auth = await aiohttp_server(remote)
    settings = test_settings(
        tmp_path, sfmc_client_id="sfmc-cid", sfmc_client_secret="sfmc-csecret",
        sfmc_auth_url=str(auth.make_url("")).rstrip("/"),
    )  # fmt: skip
    server = await aiohttp_server(create_app(settings))
    client = await browser(aiohttp_server, aiohttp_client, server)
    state = (await start_login(client))["state"]
    resp = await finish(client, {"code": "c", "state": state})
    assert resp.status in (401, 503), await resp.text()
    assert "Marketing Cloud" in await resp.text()
    assert not any(c.startswith(f"{COOKIE_NAME}=") for c in resp.headers.getall("Set-Cookie"))
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


async def test_a_flood_of_sign_ins_is_slowed_before_it_reaches_the_database(
    aiohttp_client: ClientFactory, sso_settings: Settings
) -> None:
    app = create_app(sso_settings)
    clock = Clock()
    app[SIGN_INS] = TokenBucket(SIGN_INS_PER_SECOND, SIGN_IN_BURST, clock=clock)
    client = await aiohttp_client(app)
    logins = [await client.get("/sso/login", allow_redirects=False) for _ in range(SIGN_IN_BURST)]
    assert {r.status for r in logins} == {302}
    refused = await client.get("/sso/login", allow_redirects=False)
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "1"
    assert "Try again in a moment" in await refused.text()
    callback = await client.get("/sso/callback?state=s&code=c", allow_redirects=False)
    assert callback.status == 429
    assert STATE_COOKIE not in callback.cookies  # the browser's state stays for the retry
    database = sso_settings.database_url.removeprefix("sqlite:///")
    with closing(sqlite3.connect(database)) as db:
        (states,) = db.execute("SELECT COUNT(*) FROM sso_states").fetchone()
    assert states == SIGN_IN_BURST  # one per sign-in let through, none for the refused
    clock.now += 1 / SIGN_INS_PER_SECOND
    assert (await client.get("/sso/login", allow_redirects=False)).status == 302
