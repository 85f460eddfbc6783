"""Signing in with Marketing Cloud through the real `rokt-activity serve` process: no code,
access token, refresh token, state, session id or client secret in any line it prints, and
the refresh token is nowhere in the database file in plain text."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
from aiohttp import CookieJar

from activity.admin.sessions import COOKIE_NAME
from activity.devtools.fake_rokt import running_fake_rokt
from activity.devtools.fake_sfmc import Failure, running_fake_sfmc
from tests.admin.test_sso_oauth import at_fake
from tests.admin_support import csrf_from
from tests.log_scan import assert_clean
from tests.service_process import Service

CLIENT_SECRET = "hygiene-sfmc-client-secret-9d2f41"


async def test_sso_never_logs_or_stores_a_token_in_plain_text(tmp_path: Path) -> None:
    database = tmp_path / "activity.db"
    async with (
        running_fake_sfmc(client_id="sfmc-cid", client_secret=CLIENT_SECRET) as (fake, sfmc_url),
        running_fake_rokt() as (_, rokt_url),
    ):
        service = Service(
            rokt_url,
            database_url=f"sqlite:///{database}",
            SFMC_CLIENT_ID="sfmc-cid",
            SFMC_CLIENT_SECRET=CLIENT_SECRET,
            SFMC_AUTH_URL=sfmc_url,
        )
        await service.start()
        secrets: set[str] = {CLIENT_SECRET}
        try:
            jar = CookieJar(unsafe=True, treat_as_secure_origin=service.url)
            async with (
                aiohttp.ClientSession(cookie_jar=jar) as browser,
                aiohttp.ClientSession() as http,
            ):

                async def sign_in(**change: str) -> aiohttp.ClientResponse:
                    async with browser.get(
                        f"{service.url}/sso/login", allow_redirects=False
                    ) as resp:
                        location = resp.headers["Location"]
                    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
                    secrets.add(query["state"])
                    back = {**await at_fake(http, sfmc_url, query), **change}
                    secrets.add(back.get("code", ""))
                    async with browser.get(
                        f"{service.url}/sso/callback?{urlencode(back)}", allow_redirects=False
                    ) as resp:
                        await resp.read()
                        return resp

                fake.fail("userinfo", [Failure(500)])
                assert (await sign_in()).status == 503
                assert (await sign_in(code="forged-code-123456")).status == 401
                ok = await sign_in()
                assert ok.status == 302
                secrets.update(fake.access_tokens, fake.refresh_tokens)
                secrets.update(c.value for c in jar if c.key == COOKIE_NAME)
                async with browser.get(f"{service.url}/settings") as page:
                    html = await page.text()
                assert "Connected to Marketing Cloud as" in html
                for secret in fake.refresh_tokens:
                    assert secret not in html
                async with browser.post(
                    f"{service.url}/logout", data={"csrf_token": csrf_from(html)}
                ) as resp:
                    assert resp.status == 200
        finally:
            await service.stop()
    secrets.discard("")
    assert len(secrets) >= 6
    assert_clean(service.lines, secrets)
    assert any("sso sign-in" in line for line in service.lines), "the sign-in was logged"
    refresh_tokens = [s for s in fake.refresh_tokens]
    assert refresh_tokens
    files = await asyncio.to_thread(lambda: [p.read_bytes() for p in tmp_path.glob("activity.db*")])
    for token in refresh_tokens:
        assert all(token.encode() not in data for data in files)
