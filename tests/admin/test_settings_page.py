"""GET/POST /settings, test connection and delete, over real HTTP with a real fake Rokt."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from activity import create_app
from activity.admin.settings_service import Actor
from activity.appkeys import SETTINGS_SERVICE
from activity.devtools.fake_rokt import FakeRokt, running_fake_rokt
from activity.devtools.jb import test_settings
from activity.ops.logs import JsonFormatter
from tests.admin_support import (
    EID,
    MID_A,
    MID_B,
    ClientFactory,
    ServerFactory,
    admin_client,
    help_text,
    login_token,
    signed_in,
)

pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")

CLIENT_ID = "rokt-client-1"
SECRET = "s3cr3t-Rokt-Client-Secret-7f3a9c"
NEW_SECRET = "n3w-Rokt-Client-Secret-0b1d2e"


@dataclass
class Env:
    app: web.Application
    server: TestServer
    rokt: FakeRokt
    tmp_path: Path
    server_factory: ServerFactory
    client_factory: ClientFactory

    async def browser(self) -> TestClient:
        """A client with its own cookie jar, like a separate browser."""
        return await admin_client(self.server_factory, self.client_factory, self.server)

    async def client(self, **claims: object) -> tuple[TestClient, str]:
        client = await self.browser()
        return client, await signed_in(client, **claims)


@pytest.fixture
async def env(
    tmp_path: Path, aiohttp_server: ServerFactory, aiohttp_client: ClientFactory
) -> AsyncIterator[Env]:
    async with running_fake_rokt(client_id=CLIENT_ID, client_secret=SECRET) as (rokt, url):
        app = create_app(test_settings(tmp_path, rokt_api_url=url, run_delivery=False))
        server = await aiohttp_server(app)
        yield Env(app, server, rokt, tmp_path, aiohttp_server, aiohttp_client)


def form(csrf: str, **fields: str) -> dict[str, str]:
    values = {
        "csrf_token": csrf,
        "account_code": "acme-au",
        "account_id": "1234",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
    }
    values.update(fields)
    return values


async def save(client: TestClient, csrf: str, **fields: str) -> str:
    resp = await client.post("/settings", data=form(csrf, **fields))
    html = await resp.text()
    assert resp.status == 200, html
    assert "Settings saved." in html
    return html


# --- without a session ------------------------------------------------------------------


async def test_no_session_gets_401_everywhere(env: Env) -> None:
    client = await env.browser()
    for method, path in [
        ("GET", "/settings"),
        ("POST", "/settings"),
        ("POST", "/settings/test"),
        ("GET", "/settings/delete"),
        ("POST", "/settings/delete"),
    ]:
        resp = await client.request(method, path, data=form("x"), allow_redirects=False)
        html = await resp.text()
        assert resp.status == 401, (method, path)
        assert "not signed in" in html and "AppExchange" in html
        assert "Set-Cookie" not in resp.headers
    assert await env.app[SETTINGS_SERVICE].get(MID_A) is None


# --- showing and saving -----------------------------------------------------------------


async def test_save_shows_values_but_never_the_secret(env: Env) -> None:
    client, csrf = await env.client()
    html = await save(client, csrf)
    assert 'value="acme-au"' in html and 'value="1234"' in html and f'value="{CLIENT_ID}"' in html
    assert SECRET not in html
    assert "A client secret is stored" in help_text(html, "client_secret")
    assert (
        '<input type="password" id="client_secret" name="client_secret" class="slds-input"\n'
        '                 maxlength="500"' in html
    ), "the secret input carries no value"
    account = await env.app[SETTINGS_SERVICE].account_for(MID_A)
    assert account is not None and account.client_secret == SECRET
    assert account.account_code == "acme-au" and account.account_id == "1234"


async def test_new_settings_page_says_not_configured(env: Env) -> None:
    client, _ = await env.client()
    html = await (await client.get("/settings")).text()
    assert "Not configured yet" in html
    assert "No client secret is stored yet" in help_text(html, "client_secret")
    assert "Delete settings" not in html


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"account_code": ""}, "account_code", "Enter the Rokt account code"),
        ({"account_code": "acme/../x"}, "account_code", "letters, digits"),
        ({"account_code": "-acme"}, "account_code", "starting with a letter or digit"),
        ({"account_code": "a" * 101}, "account_code", "up to 100"),
        ({"client_id": ""}, "client_id", "Enter the OAuth client ID"),
        ({"client_id": "has space"}, "client_id", "no spaces"),
        ({"account_id": "12 34"}, "account_id", "no spaces"),
        ({"client_secret": ""}, "client_secret", "Enter the OAuth client secret"),
        ({"client_secret": "x" * 501}, "client_secret", "at most 500"),
        ({"client_secret": "bad\x00secret"}, "client_secret", "cannot be part of it"),
    ],
)
async def test_validation_messages_sit_next_to_their_field(
    env: Env, fields: dict[str, str], field: str, message: str
) -> None:
    client, csrf = await env.client()
    resp = await client.post("/settings", data=form(csrf, **fields))
    html = await resp.text()
    assert resp.status == 400
    assert message in help_text(html, field)
    assert "Nothing was saved" in html
    assert SECRET not in html, "a typed secret is not echoed back either"
    assert await env.app[SETTINGS_SERVICE].get(MID_A) is None


async def test_typed_values_are_kept_and_escaped_after_an_error(env: Env) -> None:
    client, csrf = await env.client()
    resp = await client.post(
        "/settings", data=form(csrf, account_code="", client_id='x"><script>alert(1)</script>')
    )
    html = await resp.text()
    assert "<script>alert(1)" not in html
    assert "x&#34;&gt;&lt;script&gt;" in html


async def test_empty_secret_keeps_the_stored_one(env: Env) -> None:
    client, csrf = await env.client()
    await save(client, csrf)
    service = env.app[SETTINGS_SERVICE]
    before = await service.get(MID_A)
    html = await save(client, csrf, account_code="acme-nz", client_secret="")
    after = await service.get(MID_A)
    assert before is not None and after is not None
    assert after.secret_token == before.secret_token
    account = await service.account_for(MID_A)
    assert account is not None and account.client_secret == SECRET
    assert "account code: acme-au → acme-nz" in html
    assert "client secret replaced" not in html


async def test_a_changed_secret_is_re_encrypted(env: Env) -> None:
    client, csrf = await env.client()
    await save(client, csrf)
    service = env.app[SETTINGS_SERVICE]
    before = await service.get(MID_A)
    html = await save(client, csrf, client_secret=NEW_SECRET)
    after = await service.get(MID_A)
    assert before is not None and after is not None and after.secret_token != before.secret_token
    account = await service.account_for(MID_A)
    assert account is not None and account.client_secret == NEW_SECRET
    assert "client secret replaced" in html
    assert NEW_SECRET not in html and SECRET not in html


async def test_audit_trail_shows_who_what_when_never_the_secret(env: Env) -> None:
    client, csrf = await env.client(email="maria@example.com", user_id="70042")
    await save(client, csrf)
    await save(client, csrf, client_id="rokt-client-2", client_secret=NEW_SECRET)
    html = await (await client.get("/settings")).text()
    history = html.split("Change history", 1)[1]
    assert "maria@example.com" in history and "70042" in history
    assert "created (account code acme-au, client ID rokt-client-1)" in history
    assert "client ID: rokt-client-1 → rokt-client-2; client secret replaced" in history
    assert " UTC" in history
    assert SECRET not in history and NEW_SECRET not in history
    entries = await env.app[SETTINGS_SERVICE].audit_log(MID_A)
    assert all(SECRET not in e.detail and NEW_SECRET not in e.detail for e in entries)


async def test_every_post_needs_the_csrf_token(env: Env) -> None:
    client, csrf = await env.client()
    await save(client, csrf)
    for path in ("/settings", "/settings/test", "/settings/delete"):
        for token in ("", "forged", csrf[:-1]):
            fields = form(token, account_code="changed")
            fields["confirm"] = "delete"
            resp = await client.post(path, data=fields, allow_redirects=False)
            assert resp.status == 403, (path, token)
            assert "form has expired" in await resp.text()
    stored = await env.app[SETTINGS_SERVICE].get(MID_A)
    assert stored is not None and stored.account_code == "acme-au"
    assert env.rokt.token_grants == 0


# --- isolation between business units ----------------------------------------------------


async def test_one_business_unit_cannot_read_or_change_another(env: Env) -> None:
    client_a, csrf_a = await env.client(mid=MID_A)
    await save(client_a, csrf_a)
    client_b, csrf_b = await env.client(mid=MID_B, eid="500000099")
    html = await (await client_b.get("/settings")).text()
    assert "acme-au" not in html and CLIENT_ID not in html and "Not configured yet" in html
    # The MID comes from the session; a form field naming another MID is ignored.
    fields = form(csrf_b, account_code="intruder", client_secret="x", mid=MID_A)
    await client_b.post("/settings", data=fields)
    await client_b.post(
        "/settings/delete", data={"csrf_token": csrf_b, "confirm": "delete", "mid": MID_A}
    )
    stored_a = await env.app[SETTINGS_SERVICE].get(MID_A)
    assert stored_a is not None and stored_a.account_code == "acme-au"
    # B's test connection with an empty secret has no stored secret to borrow from A.
    resp = await client_b.post("/settings/test", data=form(csrf_b, client_secret="", mid=MID_A))
    assert resp.status == 400 and env.rokt.token_grants == 0
    # A's CSRF token is no use in B's session either.
    resp = await client_b.post("/settings", data=form(csrf_a, account_code="x"))
    assert resp.status == 403
    history_b = await env.app[SETTINGS_SERVICE].audit_log(MID_B)
    assert {e.action for e in history_b} == {"save", "delete"}
    html_a = await (await client_a.get("/settings")).text()
    assert "intruder" not in html_a


# --- enterprise default ------------------------------------------------------------------


async def test_enterprise_default_is_offered_only_within_the_enterprise(env: Env) -> None:
    client, csrf = await env.client(mid=MID_A, eid=EID)
    html = await (await client.get("/settings")).text()
    assert "Enterprise-wide default" in html
    await save(client, csrf, enterprise_default="on")
    stored = await env.app[SETTINGS_SERVICE].get(MID_A)
    assert stored is not None and stored.is_enterprise_default and stored.enterprise_id == EID

    sibling, _ = await env.client(mid=MID_B, eid=EID)
    html = await (await sibling.get("/settings")).text()
    assert "use your enterprise's default" in html and "acme-au" not in html
    assert await env.app[SETTINGS_SERVICE].is_configured(MID_B, EID)

    no_enterprise, csrf_n = await env.client(mid="500000003", eid=None)
    assert "Enterprise-wide default" not in await (await no_enterprise.get("/settings")).text()
    await save(no_enterprise, csrf_n, enterprise_default="on")
    stored_n = await env.app[SETTINGS_SERVICE].get("500000003")
    assert stored_n is not None and not stored_n.is_enterprise_default


async def test_a_user_from_another_enterprise_keeps_the_stored_default(env: Env) -> None:
    await env.app[SETTINGS_SERVICE].save(
        mid=MID_A,
        account_code="acme-au",
        client_id=CLIENT_ID,
        client_secret=SECRET,
        enterprise_id=EID,
        is_enterprise_default=True,
        actor=Actor("cli"),
    )
    client, csrf = await env.client(mid=MID_A, eid="500000099")
    html = await (await client.get("/settings")).text()
    assert "Enterprise-wide default" not in html
    await save(client, csrf, client_secret="")
    stored = await env.app[SETTINGS_SERVICE].get(MID_A)
    assert stored is not None and stored.is_enterprise_default and stored.enterprise_id == EID


# --- test connection ---------------------------------------------------------------------


async def _test(client: TestClient, csrf: str, **fields: str) -> tuple[int, str]:
    resp = await client.post("/settings/test", data=form(csrf, **fields))
    return resp.status, await resp.text()


async def test_connection_with_typed_credentials(env: Env) -> None:
    client, csrf = await env.client()
    status, html = await _test(client, csrf)
    assert status == 200
    assert "Connection successful" in html and "the client secret you typed" in html
    assert SECRET not in html
    assert 'data-outcome="success"' in html
    assert await env.app[SETTINGS_SERVICE].get(MID_A) is None, "testing saves nothing"
    assert env.rokt.token_grants == 1

    status, html = await _test(client, csrf, client_secret="wrong-secret")
    assert status == 200
    assert "Invalid credentials" in html and 'data-outcome="invalid_credentials"' in html
    assert "wrong-secret" not in html


async def test_connection_with_stored_credentials(env: Env) -> None:
    client, csrf = await env.client()
    await save(client, csrf)
    status, html = await _test(client, csrf, client_id="", client_secret="")
    assert status == 200
    assert "Connection successful" in html and "the stored client secret" in html
    await env.app[SETTINGS_SERVICE].save(
        mid=MID_A,
        account_code="acme-au",
        client_id=CLIENT_ID,
        client_secret="revoked",
        actor=Actor("cli"),
    )
    status, html = await _test(client, csrf, client_secret="")
    assert "Invalid credentials" in html and "the stored client secret" in html


async def test_connection_reports_rokt_unreachable(env: Env, tmp_path: Path) -> None:
    client, csrf = await env.client()
    env.rokt.token_endpoint_down = True
    status, html = await _test(client, csrf)
    assert status == 200 and "Rokt unreachable" in html
    env.rokt.token_endpoint_down = False

    closed = create_app(test_settings(tmp_path / "closed", rokt_api_url="http://127.0.0.1:9"))
    other = await admin_client(env.server_factory, env.client_factory, closed)
    csrf_closed = await signed_in(other)
    status, html = await _test(other, csrf_closed)
    assert "Rokt unreachable" in html and "http://127.0.0.1:9" in html


async def test_connection_without_any_secret_asks_for_one(env: Env) -> None:
    client, csrf = await env.client()
    status, html = await _test(client, csrf, client_secret="")
    assert status == 400
    assert "Type the client secret to test it" in help_text(html, "client_secret")
    assert env.rokt.token_grants == 0


# --- delete --------------------------------------------------------------------------------


async def test_delete_asks_for_confirmation_first(env: Env) -> None:
    client, csrf = await env.client()
    await save(client, csrf)
    page = await client.get("/settings/delete")
    html = await page.text()
    assert page.status == 200 and "Delete Rokt Calendar settings?" in html and "acme-au" in html
    assert SECRET not in html
    resp = await client.post("/settings/delete", data={"csrf_token": csrf})
    assert "Delete Rokt Calendar settings?" in await resp.text(), "unconfirmed: back to confirm"
    assert await env.app[SETTINGS_SERVICE].get(MID_A) is not None

    resp = await client.post("/settings/delete", data={"csrf_token": csrf, "confirm": "delete"})
    html = await resp.text()
    assert "Settings deleted." in html and "Not configured yet" in html
    assert await env.app[SETTINGS_SERVICE].get(MID_A) is None
    assert "Deleted" in html.split("Change history", 1)[1]


async def test_delete_without_settings_says_so(env: Env) -> None:
    client, _ = await env.client()
    html = await (await client.get("/settings/delete")).text()
    assert "There are no settings to delete." in html


# --- secrets stay secret -----------------------------------------------------------------


async def test_the_database_never_holds_the_secret_in_plain_text(env: Env) -> None:
    client, csrf = await env.client()
    await save(client, csrf)
    await save(client, csrf, client_secret=NEW_SECRET)
    await _test(client, csrf, client_secret="")
    files = [p for p in env.tmp_path.iterdir() if p.name.startswith("activity.db")]
    raw = b"".join(p.read_bytes() for p in files)
    assert b"acme-au" in raw, "we are reading the right database"
    for secret in (SECRET, NEW_SECRET):
        assert secret.encode() not in raw
        assert secret.encode("utf-16-le") not in raw


async def test_no_log_line_contains_a_secret_or_a_token(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = login_token()
    client = await env.browser()
    await client.post("/login", data={"jwt": token})
    csrf = await signed_in(client)
    await client.post("/login", data={"jwt": login_token("wrong-secret-0123456789-abcdefghij")})
    await save(client, csrf)
    await client.post("/settings", data=form(csrf, account_code="", client_secret=NEW_SECRET))
    await _test(client, csrf)
    await _test(client, csrf, client_secret=NEW_SECRET)
    await _test(client, csrf, client_secret="")
    await client.post("/settings/delete", data={"csrf_token": csrf, "confirm": "delete"})
    assert caplog.records, "logging happened"
    formatter = JsonFormatter()
    for record in caplog.records:
        line = formatter.format(record) + repr(record.__dict__)
        for secret in (SECRET, NEW_SECRET, token, token.split(".")[2]):
            assert secret not in line, record.getMessage()
    messages = {r.getMessage() for r in caplog.records}
    assert {"sso login", "sso login rejected", "settings saved", "connection test"} <= messages


async def test_calendar_ids_are_optional_checked_kept_and_audited(env: Env) -> None:
    client, csrf = await env.client()
    await save(client, csrf)
    assert (await env.app[SETTINGS_SERVICE].get(MID_A)).calendar_ids == ()  # type: ignore[union-attr]
    html = await save(client, csrf, calendar_ids=" cal-1, cal_2 cal-1 ")
    assert 'value="cal-1, cal_2"' in html
    assert (await env.app[SETTINGS_SERVICE].get(MID_A)).calendar_ids == ("cal-1", "cal_2")  # type: ignore[union-attr]
    assert "calendar IDs: (empty) → cal-1, cal_2" in html
    resp = await client.post("/settings", data=form(csrf, calendar_ids="cal-1, bad/id"))
    assert resp.status == 400
    assert "&#39;bad/id&#39; is not a calendar ID" in help_text(await resp.text(), "calendar_ids")
    assert (await env.app[SETTINGS_SERVICE].get(MID_A)).calendar_ids == ("cal-1", "cal_2")  # type: ignore[union-attr]
