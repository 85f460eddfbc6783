"""Helpers that play Marketing Cloud's legacy app SSO for the settings tests."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientResponse, CookieJar, web
from aiohttp.test_utils import TestClient, TestServer

from activity.devtools.jb import TEST_SECRET, sign

MID_A = "500000001"
MID_B = "500000002"
EID = "500000000"

ServerFactory = Callable[..., Awaitable[TestServer]]
ClientFactory = Callable[..., Awaitable[TestClient]]


def sso_claims(
    mid: str | int = MID_A,
    eid: str | int | None = EID,
    *,
    user_id: str | int = "700001",
    email: str = "admin@example.com",
    exp_in: float | None = 300,
) -> dict[str, Any]:
    """Claims as legacy SSO (claimsVersion 2) posts them; `exp_in=None` leaves out exp."""
    organization: dict[str, Any] = {"id": mid, "stackKey": "S50", "region": "NA1"}
    if eid is not None:
        organization["enterpriseId"] = eid
    claims: dict[str, Any] = {
        "jti": str(uuid.uuid4()),  # each sign-in is a new token; a replay reuses one
        "request": {
            "claimsVersion": 2,
            "user": {"id": user_id, "email": email, "culture": "en-US"},
            "organization": organization,
            "application": {"id": "app-1", "package": "rokt-calendar"},
        },
    }
    if exp_in is not None:
        claims["exp"] = int(time.time() + exp_in)
    return claims


def login_token(secret: str = TEST_SECRET, **kwargs: Any) -> str:
    return sign(sso_claims(**kwargs), secret).decode()


async def admin_client(
    aiohttp_server: ServerFactory,
    aiohttp_client: ClientFactory,
    app_or_server: web.Application | TestServer,
) -> TestClient:
    """A client whose cookie jar sends the Secure session cookie over the test's http://,
    as a browser does for localhost. Pass a started server to get several browsers on it."""
    server = (
        app_or_server
        if isinstance(app_or_server, TestServer)
        else await aiohttp_server(app_or_server)
    )
    jar = CookieJar(unsafe=True, treat_as_secure_origin=str(server.make_url("/")))
    return await aiohttp_client(server, cookie_jar=jar)


async def login(client: TestClient, token: str | None = None, **claims: Any) -> ClientResponse:
    form = {"jwt": token if token is not None else login_token(**claims)}
    return await client.post("/login", data=form, allow_redirects=False)


async def signed_in(client: TestClient, **claims: Any) -> str:
    """Sign in and return the settings page's CSRF token."""
    resp = await login(client, **claims)
    assert resp.status == 302, await resp.text()
    page = await client.get("/settings")
    assert page.status == 200
    return csrf_from(await page.text())


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def help_text(html: str, field: str) -> str:
    """The help or error text shown next to a field."""
    found = re.search(rf'id="{field}-help">(.*?)</div>', html, re.S)
    return " ".join(found.group(1).split()) if found else ""
