"""The fake's OAuth 2.0 server: /v2/authorize (a small sign-in page), /v2/token, /v2/userinfo.

Served both bare and under a tenant path (`/{tssd}/v2/...`); see http.tenant_of.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from activity.devtools.fake_sfmc.http import (
    NOT_JSON,
    SCRIPTED_ERROR,
    fake_of,
    oauth_error,
    read_json,
    recorded,
    tenant_of,
)
from activity.devtools.fake_sfmc.state import BusinessUnit, FakeSfmc, Grant

AUTHORIZE_FIELDS = ("client_id", "redirect_uri", "scope", "state")
PACKAGE_SCOPES = "data_extensions_read data_extensions_write journeys_read"


def _redirect_ok(fake: FakeSfmc, redirect_uri: str) -> bool:
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        return False
    return not fake.redirect_uris or redirect_uri in fake.redirect_uris


def _bad_request_page(why: str) -> web.Response:
    # RFC 6749 §4.1.2.1: with an unknown client or a bad redirect URI the server must not
    # redirect; it tells the user.
    body = f"<!doctype html><title>Fake Marketing Cloud</title><h1>Error</h1><p>{html.escape(why)}"
    return web.Response(text=body, status=400, content_type="text/html")


def _back_to_client(redirect_uri: str, params: dict[str, str]) -> web.HTTPFound:
    sep = "&" if urlsplit(redirect_uri).query else "?"
    return web.HTTPFound(redirect_uri + sep + urlencode({k: v for k, v in params.items() if v}))


def _sign_in_page(fake: FakeSfmc, values: dict[str, str], path: str) -> web.Response:
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(values.get(k, ""))}">'
        for k in AUTHORIZE_FIELDS
    )
    options = "".join(
        f'<option value="{html.escape(u.mid)}">{html.escape(u.name)} ({html.escape(u.mid)})'
        "</option>"
        for u in fake.units.values()
    )
    user = fake.user
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · Fake Marketing Cloud</title></head>
<body>
<h1>Fake Marketing Cloud</h1>
<p id="who">Signed in as {html.escape(user.name)} ({html.escape(user.email)})</p>
<form method="post" action="{html.escape(path)}">
{hidden}
<label for="mid">Business unit</label>
<select id="mid" name="mid">{options}</select>
<p>The app asks for: <span id="scope">{html.escape(values.get("scope", ""))}</span></p>
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
</body></html>"""
    # One public sample shows SFMC's login page refusing to be framed (unconfirmed): the fake
    # refuses too, so the service's popup path is what tests exercise inside an iframe.
    headers = {"X-Frame-Options": "DENY", "Cache-Control": "no-store"}
    return web.Response(text=page, content_type="text/html", headers=headers)


async def authorize_page(request: web.Request) -> web.StreamResponse:
    fake = fake_of(request)
    query = dict(request.query)

    async def answer() -> web.StreamResponse:
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id", "") not in fake.clients:
            return _bad_request_page("unknown client_id")
        if not _redirect_ok(fake, redirect_uri):
            return _bad_request_page("redirect_uri is missing or not registered")
        state = query.get("state", "")
        if query.get("response_type") != "code":
            raise _back_to_client(
                redirect_uri, {"error": "unsupported_response_type", "state": state}
            )
        scripted = request.get(SCRIPTED_ERROR, "")
        if scripted:
            raise _back_to_client(redirect_uri, {"error": scripted, "state": state})
        return _sign_in_page(fake, query, request.path)

    return await recorded(request, "authorize", None, answer)


async def authorize_decision(request: web.Request) -> web.StreamResponse:
    fake = fake_of(request)
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}

    async def answer() -> web.StreamResponse:
        redirect_uri = form.get("redirect_uri", "")
        if form.get("client_id", "") not in fake.clients:
            return _bad_request_page("unknown client_id")
        if not _redirect_ok(fake, redirect_uri):
            return _bad_request_page("redirect_uri is missing or not registered")
        state = form.get("state", "")
        if form.get("decision") != "allow":
            raise _back_to_client(redirect_uri, {"error": "access_denied", "state": state})
        unit = fake.units.get(form.get("mid", ""))
        if unit is None:
            return _bad_request_page("unknown business unit")
        code = fake.issue_code(form["client_id"], unit, form.get("scope", ""), redirect_uri)
        # SFMC names the tenant the code belongs to in `tssd` ("authorization-code" doc).
        raise _back_to_client(redirect_uri, {"code": code, "tssd": unit.tssd, "state": state})

    return await recorded(request, "authorize", {"mid": form.get("mid", "")}, answer)


def _wrong_tenant(request: web.Request, unit: BusinessUnit) -> bool:
    tenant = tenant_of(request)
    return bool(tenant) and tenant != unit.tssd


def _token_answer(request: web.Request, fake: FakeSfmc, body: Any) -> web.Response:
    if body is NOT_JSON or not isinstance(body, dict):
        # SFMC's v2 token endpoint takes a JSON body ("access-token-app").
        return oauth_error(400, "invalid_request", "the request body must be a JSON object")
    grant_type = body.get("grant_type")
    client_id = str(body.get("client_id", ""))
    if grant_type not in ("authorization_code", "refresh_token", "client_credentials"):
        return oauth_error(400, "unsupported_grant_type", "unsupported grant_type")
    if not fake.client_ok(client_id, body.get("client_secret")):
        return oauth_error(401, "invalid_client", "client authentication failed")
    grant: Grant | None
    if grant_type == "authorization_code":
        code, redirect_uri = body.get("code"), body.get("redirect_uri")
        if not isinstance(code, str) or not isinstance(redirect_uri, str):
            return oauth_error(400, "invalid_request", "code and redirect_uri are required")
        grant = fake.redeem_code(code, client_id, redirect_uri)
        if grant is None or _wrong_tenant(request, grant.unit):
            return oauth_error(400, "invalid_grant", "the authorization code is invalid")
        return web.json_response(fake.tokens_for(grant, with_refresh=True))
    if grant_type == "refresh_token":
        token = body.get("refresh_token")
        if not isinstance(token, str):
            return oauth_error(400, "invalid_request", "refresh_token is required")
        grant = fake.rotate_refresh_token(token, client_id)
        if grant is None or _wrong_tenant(request, grant.unit):
            return oauth_error(400, "invalid_grant", "the refresh token is invalid")
        return web.json_response(fake.tokens_for(grant, with_refresh=True))
    return _client_credentials(request, fake, body, client_id)


def _client_credentials(
    request: web.Request, fake: FakeSfmc, body: dict[str, Any], client_id: str
) -> web.Response:
    # account_id picks the business unit (MID); without it, the enterprise's own
    # ("access-token-s2s"). No refresh token for this grant.
    account = str(body.get("account_id", ""))
    if account:
        unit = fake.units.get(account)
    else:
        unit = next((u for u in fake.units.values() if u.mid == u.eid), None)
        unit = unit or next(iter(fake.units.values()), None)
    if unit is None:
        return oauth_error(400, "invalid_request", "unknown account_id")
    if _wrong_tenant(request, unit):
        return oauth_error(400, "invalid_grant", "the account belongs to another tenant")
    # Without `scope`, the token carries every permission of the package's API integration
    # ("access-token-s2s"); the fake's package has these.
    scope = str(body.get("scope", "")) or PACKAGE_SCOPES
    grant = Grant(client_id, unit, None, scope)
    return web.json_response(fake.tokens_for(grant, with_refresh=False))


async def token(request: web.Request) -> web.StreamResponse:
    fake = fake_of(request)
    body = await read_json(request)

    async def answer() -> web.StreamResponse:
        return _token_answer(request, fake, body)

    return await recorded(request, "token", body, answer)


def bearer_grant(request: web.Request) -> Grant | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return fake_of(request).access_grant(value.strip())


async def userinfo(request: web.Request) -> web.StreamResponse:
    fake = fake_of(request)

    async def answer() -> web.StreamResponse:
        grant = bearer_grant(request)
        if grant is None or _wrong_tenant(request, grant.unit):
            return web.json_response(
                {"message": "Not Authorized", "errorcode": 0, "documentation": ""},
                status=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return web.json_response(fake.userinfo(grant))

    return await recorded(request, "userinfo", None, answer)


def add_routes(app: web.Application) -> None:
    for prefix in ("", "/{tssd}"):
        app.router.add_get(f"{prefix}/v2/authorize", authorize_page)
        app.router.add_post(f"{prefix}/v2/authorize", authorize_decision)
        app.router.add_post(f"{prefix}/v2/token", token)
        app.router.add_get(f"{prefix}/v2/userinfo", userinfo)
