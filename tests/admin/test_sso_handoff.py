"""The framed sign-in: the popup hands its session to Journey Builder's frame, over HTTP.

Two cookie jars play the two partitions: `frame` (Marketing Cloud's, where the app is framed)
and `popup` (the app's own, top level)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from activity import create_app
from activity.admin.sessions import COOKIE_NAME
from activity.admin.sso_handoff import FRAME_COOKIE, derive
from activity.config import Settings
from activity.devtools.fake_sfmc import FakeSfmc
from activity.devtools.jb import test_settings
from tests.admin.test_sso_oauth import MID_B, at_fake, finish
from tests.admin_support import ClientFactory, ServerFactory, admin_client

FRAMED = {"Sec-Fetch-Dest": "iframe"}


@pytest.fixture
async def server(
    aiohttp_server: ServerFactory, tmp_path: Path, sfmc: tuple[FakeSfmc, str]
) -> TestServer:
    settings: Settings = test_settings(
        tmp_path, sfmc_client_id="sfmc-cid", sfmc_client_secret="sfmc-csecret",
        sfmc_auth_url=sfmc[1],
    )  # fmt: skip
    return await aiohttp_server(create_app(settings))


async def framed_login(frame: TestClient, next_path: str = "/settings") -> str:
    """The framed /sso/login: returns the popup link."""
    resp = await frame.get(f"/sso/login?{urlencode({'next': next_path})}", headers=FRAMED)
    assert resp.status == 200
    html = await resp.text()
    assert '<script src="/static/js/sso-handoff.js"></script>' in html
    found = re.search(
        r'id="popup" target="_blank" rel="opener"\s+data-next="([^"]*)" href="([^"]+)"', html
    )
    assert found, html
    assert unescape(found.group(1)) == next_path
    return unescape(found.group(2))


async def popup_sign_in(popup: TestClient, http: aiohttp.ClientSession, url: str, link: str) -> str:
    """Run the popup's sign-in; returns the handoff code the popup posts to its opener."""
    resp = await popup.get(link, allow_redirects=False)
    assert resp.status == 302
    query = {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}
    done = await finish(popup, await at_fake(http, url, query, mid=MID_B))
    assert done.status == 302 and done.headers["Location"].startswith("/sso/handoff?")
    page = await popup.get(done.headers["Location"])
    assert page.status == 200
    code = re.search(r'id="handoff" data-code="([^"]+)"', await page.text())
    assert code
    return code.group(1)


async def two_partitions(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, server: TestServer
) -> tuple[TestClient, TestClient]:
    return (
        await admin_client(aiohttp_server, aiohttp_client, server),
        await admin_client(aiohttp_server, aiohttp_client, server),
    )


async def test_the_frame_is_signed_in_by_the_popups_code(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, server: TestServer,
    sfmc: tuple[FakeSfmc, str], http: aiohttp.ClientSession,
) -> None:  # fmt: skip
    frame, popup = await two_partitions(aiohttp_server, aiohttp_client, server)
    link = await framed_login(frame, "/settings/deliveries")
    assert any(c.key == FRAME_COOKIE for c in frame.session.cookie_jar)
    code = await popup_sign_in(popup, http, sfmc[1], link)
    assert (await frame.get("/settings")).status == 401, "not yet"
    resp = await frame.get(
        f"/sso/handoff/finish?{urlencode({'code': code, 'next': '/settings/deliveries'})}",
        allow_redirects=False,
    )
    assert resp.status == 302 and resp.headers["Location"] == "/settings/deliveries"
    page = await frame.get("/settings")
    assert page.status == 200 and f"Business unit {MID_B}" in await page.text()
    # The popup keeps its own session; the two are different sessions.
    assert (await popup.get("/settings")).status == 200
    frame_id = next(c.value for c in frame.session.cookie_jar if c.key == COOKIE_NAME)
    popup_id = next(c.value for c in popup.session.cookie_jar if c.key == COOKIE_NAME)
    assert frame_id != popup_id and frame_id != derive(code, "x")


async def test_the_code_works_once_and_only_with_the_frames_key(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, server: TestServer,
    sfmc: tuple[FakeSfmc, str], http: aiohttp.ClientSession,
) -> None:  # fmt: skip
    frame, popup = await two_partitions(aiohttp_server, aiohttp_client, server)
    code = await popup_sign_in(popup, http, sfmc[1], await framed_login(frame))
    # Someone else who learns the code (but has no frame key, or another one) gets nothing.
    stranger = await admin_client(aiohttp_server, aiohttp_client, server)
    await framed_login(stranger)
    resp = await stranger.get(f"/sso/handoff/finish?code={code}", allow_redirects=False)
    assert resp.status == 401
    assert (await stranger.get("/settings")).status == 401
    # The frame itself, once; a replay (same code, same frame key) finds nothing.
    key = next(c.value for c in frame.session.cookie_jar if c.key == FRAME_COOKIE)
    took = await frame.get(f"/sso/handoff/finish?code={code}", allow_redirects=False)
    assert took.status == 302
    assert not any(c.key == FRAME_COOKIE for c in frame.session.cookie_jar), "key cleared"
    replay = await aiohttp_client(server)
    resp = await replay.get(
        f"/sso/handoff/finish?code={code}",
        headers={"Cookie": f"{FRAME_COOKIE}={key}"},
        allow_redirects=False,
    )
    assert resp.status == 401
    assert not any(h.startswith(COOKIE_NAME) for h in resp.headers.getall("Set-Cookie", [])
                   if "Max-Age=0" not in h)  # fmt: skip


async def test_bad_handoff_requests_sign_nobody_in(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, server: TestServer,
) -> None:  # fmt: skip
    frame = await admin_client(aiohttp_server, aiohttp_client, server)
    await framed_login(frame)
    for query in ("", "code=short", "code=" + "A" * 43, "code=" + "A" * 5000):
        resp = await frame.get(f"/sso/handoff/finish?{query}", allow_redirects=False)
        assert resp.status == 401, query
    assert (await frame.get("/settings")).status == 401
    # The handoff page needs the popup's session.
    assert (await frame.get("/sso/handoff?frame=" + "a" * 64)).status == 401


async def test_a_popup_without_a_frame_just_continues(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, server: TestServer,
    sfmc: tuple[FakeSfmc, str], http: aiohttp.ClientSession,
) -> None:  # fmt: skip
    popup = await admin_client(aiohttp_server, aiohttp_client, server)
    resp = await popup.get(
        "/sso/login?popup=1&frame=not-a-hash&next=/settings", allow_redirects=False
    )
    query = {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}
    done = await finish(popup, await at_fake(http, sfmc[1], query))
    assert done.headers["Location"] == "/settings"


async def test_the_frames_old_session_ends_when_the_handoff_signs_it_in(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, server: TestServer,
    sfmc: tuple[FakeSfmc, str], http: aiohttp.ClientSession,
) -> None:  # fmt: skip
    # As any sign-in does: the session this frame had (another business unit, or a copied
    # cookie) stops opening anything, not merely stops being sent.
    from tests.admin_support import signed_in

    frame, popup = await two_partitions(aiohttp_server, aiohttp_client, server)
    await signed_in(frame, mid="500000001")
    old = next(c.value for c in frame.session.cookie_jar if c.key == COOKIE_NAME)
    link = await framed_login(frame)
    code = await popup_sign_in(popup, http, sfmc[1], link)
    resp = await frame.get(f"/sso/handoff/finish?{urlencode({'code': code})}",
                           allow_redirects=False)  # fmt: skip
    assert resp.status == 302
    assert f"Business unit {MID_B}" in await (await frame.get("/settings")).text()
    copied = await aiohttp_client(server, headers={"Cookie": f"{COOKIE_NAME}={old}"})
    assert (await copied.get("/settings")).status == 401
