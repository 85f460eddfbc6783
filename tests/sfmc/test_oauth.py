"""The Marketing Cloud OAuth client against the fake, over real HTTP."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.typedefs import Handler

from activity.devtools.fake_sfmc import Failure, FakeSfmc
from activity.errors import SfmcError, SfmcGrantRefused, SfmcUnavailable
from activity.sfmc import oauth
from tests.devtools.test_fake_sfmc import REDIRECT, authorize

CID, SECRET = "sfmc-cid", "sfmc-csecret"


async def _client_credentials_from(aiohttp_server: Any, token: Handler) -> oauth.TokenSet:
    """A client-credentials grant against a token endpoint answering with `token`."""
    remote = web.Application()
    remote.router.add_post("/v2/token", token)
    server = await aiohttp_server(remote)
    async with aiohttp.ClientSession() as http:
        return await oauth.client_credentials(
            http, str(server.make_url("")).rstrip("/"), client_id="c", client_secret="s",
            account_id="1",
        )  # fmt: skip


async def _code(http: aiohttp.ClientSession, url: str, mid: str = "100000001") -> str:
    return (await authorize(http, url, mid=mid))["code"]


async def _signed_in(http: aiohttp.ClientSession, url: str) -> oauth.TokenSet:
    """Tokens for a fresh code from the fake's sign-in page."""
    code = await _code(http, url)
    return await oauth.exchange_code(
        http, url, client_id=CID, client_secret=SECRET, code=code, redirect_uri=REDIRECT
    )


async def test_code_exchange_and_userinfo(
    http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]
) -> None:
    _, url = sfmc
    tokens = await _signed_in(http, url)
    assert tokens.refresh_token and tokens.expires_in == 1079
    assert tokens.rest_instance_url == f"{url}/"
    assert tokens.access_token not in repr(tokens) and tokens.refresh_token not in repr(tokens)
    info = await oauth.userinfo(http, url, tokens.access_token)
    assert (info.mid, info.enterprise_id, info.email) == (
        "100000001",
        "100000000",
        "admin@example.com",
    )


async def test_refresh_rotates_and_a_reused_token_is_an_invalid_grant(
    http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]
) -> None:
    _, url = sfmc
    first = await _signed_in(http, url)
    second = await oauth.refresh(
        http, url, client_id=CID, client_secret=SECRET, refresh_token=first.refresh_token
    )
    assert second.refresh_token and second.refresh_token != first.refresh_token
    with pytest.raises(SfmcGrantRefused) as caught:
        await oauth.refresh(
            http, url, client_id=CID, client_secret=SECRET, refresh_token=first.refresh_token
        )
    assert caught.value.error == "invalid_grant" and caught.value.status == 400
    assert first.refresh_token not in str(caught.value)


async def test_client_credentials(http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]) -> None:
    _, url = sfmc
    tokens = await oauth.client_credentials(
        http, url, client_id=CID, client_secret=SECRET, account_id="100000002"
    )
    assert not tokens.refresh_token
    assert (await oauth.userinfo(http, url, tokens.access_token)).mid == "100000002"
    with pytest.raises(SfmcError) as caught:
        await oauth.client_credentials(
            http, url, client_id=CID, client_secret="wrong", account_id="100000002"
        )
    assert caught.value.reason == "invalid_client" and "wrong" not in str(caught.value)


async def test_a_refused_code_and_a_failing_userinfo(
    http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]
) -> None:
    fake, url = sfmc
    with pytest.raises(SfmcGrantRefused):
        await oauth.exchange_code(
            http, url, client_id=CID, client_secret=SECRET, code="made-up", redirect_uri=REDIRECT
        )
    with pytest.raises(SfmcError) as caught:
        await oauth.userinfo(http, url, "not-a-token")
    assert caught.value.status == 401
    fake.fail("userinfo", [Failure(503)])
    with pytest.raises(SfmcUnavailable):
        await oauth.userinfo(http, url, "whatever")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"organization": {}},
        {"organization": {"member_id": ""}},
        {"organization": {"member_id": True}},
        {"organization": {"member_id": "12ab"}},
        {"organization": {"member_id": "1" * 300}},
        {"organization": "x"},
    ],
)
def test_userinfo_without_a_business_unit_is_refused(body: dict[str, object]) -> None:
    with pytest.raises(SfmcError) as caught:
        oauth.user_info_from(body)
    assert caught.value.reason == "missing_mid"


async def test_unreachable_is_unavailable(http: aiohttp.ClientSession) -> None:
    with pytest.raises(SfmcUnavailable):
        await oauth.userinfo(http, "http://127.0.0.1:9", "token")


def test_auth_base_accepts_only_a_dns_label_as_tssd() -> None:
    template = "https://{tssd}.auth.marketingcloudapis.com"
    assert oauth.auth_base(template, "mc563885gzs27c5t9-63k636ttgm") == (
        "https://mc563885gzs27c5t9-63k636ttgm.auth.marketingcloudapis.com"
    )
    assert oauth.auth_base("http://127.0.0.1:8091/", "anything") == "http://127.0.0.1:8091"
    for bad in ("", "evil.com/", "a.b", "x@evil.com", "-x", "a" * 64, "tenant?x=1", "t%2e"):
        with pytest.raises(SfmcError):
            oauth.auth_base(template, bad)


async def test_a_token_answer_with_unstorable_urls_or_scope_is_cleaned(aiohttp_server: Any) -> None:
    # Stored with the connection (PostgreSQL text holds no NUL) and called later: an
    # instance URL that is not a plain URL is dropped, the scope kept as plain text.
    async def token(_request: web.Request) -> web.Response:
        return web.json_response({
            "access_token": "t", "expires_in": 1200, "scope": "offline\x00 data_extensions_read",
            "rest_instance_url": "https://rest.example.com/\x00x",
            "soap_instance_url": "https://soap.example.com/" + "s" * 5000,
        })  # fmt: skip

    tokens = await _client_credentials_from(aiohttp_server, token)
    assert tokens.rest_instance_url == "" and tokens.soap_instance_url == ""
    assert tokens.scope == "offline data_extensions_read"


async def test_a_token_answer_that_arrives_in_pieces_is_read_whole(aiohttp_server: Any) -> None:
    answer = json.dumps({"access_token": "a" * 4000, "expires_in": 1200,
                         "rest_instance_url": "https://rest.example.com/"}).encode()  # fmt: skip

    async def token(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        for start in range(0, len(answer), 500):
            await resp.write(answer[start : start + 500])
            await asyncio.sleep(0.002)
        await resp.write_eof()
        return resp

    tokens = await _client_credentials_from(aiohttp_server, token)
    assert tokens.access_token == "a" * 4000
