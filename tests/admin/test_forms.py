"""Every form POST of the admin pages goes through one check: signed in, with this session's
CSRF token. Driven over HTTP on each page that takes a form."""

from __future__ import annotations

import pytest

from activity import create_app
from activity.config import Settings
from tests.admin_support import MID_A, MID_B, ClientFactory, ServerFactory, admin_client, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")

FORM_ROUTES = (
    "/settings",
    "/settings/test",
    "/settings/delete",
    "/settings/sfmc/disconnect",
    "/settings/webhook-url/rotate",
    "/settings/data-extensions/install",
)


async def test_a_form_without_this_sessions_token_is_refused_everywhere(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, settings: Settings
) -> None:
    app = create_app(settings)
    mine = await admin_client(aiohttp_server, aiohttp_client, app)
    own = await signed_in(mine, mid=MID_A)
    other = await admin_client(aiohttp_server, aiohttp_client, mine.server)
    foreign = await signed_in(other, mid=MID_B)
    for path in FORM_ROUTES:
        for token in ("", "forged", own[:-1], foreign):
            data = {"csrf_token": token, "account_code": "changed", "confirm": "delete"}
            resp = await mine.post(path, data=data, allow_redirects=False)
            assert resp.status == 403, (path, token)
            assert "form has expired" in await resp.text()


async def test_a_form_from_no_session_asks_to_sign_in(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, settings: Settings
) -> None:
    client = await admin_client(aiohttp_server, aiohttp_client, create_app(settings))
    for path in FORM_ROUTES:
        resp = await client.post(path, data={"csrf_token": "x"}, allow_redirects=False)
        assert resp.status in (401, 403), path
        assert "form has expired" not in await resp.text()
        assert "not signed in" in await resp.text()
