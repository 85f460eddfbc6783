"""Rokt OAuth tokens: fetched over real HTTP from the fake Rokt, cached, refreshed once."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from activity.admin.settings_service import RoktAccount
from activity.devtools.fake_rokt import FakeRokt
from activity.errors import RoktAuthFailed, RoktError, RoktRetryable
from activity.ops.metrics import Metrics
from activity.rokt.token_cache import TokenCache, fetch_token, usable_for
from tests.clock import Clock

ACCOUNT = RoktAccount(
    mid="500000001", account_code="acme", client_id="cid", client_secret="csecret"
)


async def test_fetch_token_returns_a_grant_that_hides_the_token(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    grant = await fetch_token(http, url, "cid", "csecret")
    assert grant.expires_in == 300
    assert fake.token_valid(grant.access_token)
    assert grant.access_token not in repr(grant)


async def test_fetch_token_wrong_credentials_is_auth_failed(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    _, url = rokt
    with pytest.raises(RoktAuthFailed, match="invalid credentials") as caught:
        await fetch_token(http, url, "cid", "not-the-secret")
    assert caught.value.status == 401
    assert "not-the-secret" not in str(caught.value)


async def test_fetch_token_endpoint_down_is_retryable_with_retry_after(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    fake.token_endpoint_down = True
    with pytest.raises(RoktRetryable, match="Rokt unreachable"):
        await fetch_token(http, url, "cid", "csecret")
    fake.token_endpoint_down = False
    fake.script("token", [429], retry_after=12)
    with pytest.raises(RoktRetryable) as caught:
        await fetch_token(http, url, "cid", "csecret")
    assert caught.value.status == 429 and caught.value.retry_after == 12


async def test_fetch_token_network_errors_and_timeouts_are_retryable(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    with pytest.raises(RoktRetryable, match="Rokt unreachable"):
        await fetch_token(http, "http://127.0.0.1:9", "cid", "csecret")
    fake.script("token", [None], delay=0.5)
    with pytest.raises(RoktRetryable, match="Rokt unreachable"):
        await fetch_token(http, url, "cid", "csecret", request_timeout=0.1)


async def test_fetch_token_from_a_wrong_url_is_a_plain_rokt_error(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    _, url = rokt
    with pytest.raises(RoktError, match="check ROKT_API_URL") as caught:
        await fetch_token(http, f"{url}/wrong-prefix", "cid", "csecret")
    assert not isinstance(caught.value, RoktRetryable | RoktAuthFailed)


async def test_one_grant_serves_many_calls(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    metrics = Metrics()
    cache = TokenCache(http, url, metrics=metrics)
    tokens = {await cache.get(ACCOUNT) for _ in range(50)}
    assert len(tokens) == 1
    assert fake.token_grants == 1
    assert metrics.registry.get_sample_value("activity_rokt_token_grants_total") == 1


async def test_refreshes_shortly_before_expiry(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    clock = Clock(5000.0)
    cache = TokenCache(http, url, clock=clock)
    first = await cache.get(ACCOUNT)
    clock.now += usable_for(300) - 0.001
    assert await cache.get(ACCOUNT) == first
    clock.now += 0.001
    second = await cache.get(ACCOUNT)
    assert second != first
    assert fake.token_grants == 2


def test_early_refresh_margin_is_ten_percent_at_most_a_minute() -> None:
    assert usable_for(300) == 270
    assert usable_for(3600) == 3540
    assert usable_for(0) == 0


async def test_one_refresh_under_concurrency(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    fake.script("token", [None], delay=0.2)
    cache = TokenCache(http, url)
    tokens = await asyncio.gather(*(cache.get(ACCOUNT) for _ in range(25)))
    assert len(set(tokens)) == 1
    assert fake.token_grants == 1
    assert len(fake.calls("token")) == 1


async def test_invalidate_forces_one_new_grant_and_keeps_a_fresher_token(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    cache = TokenCache(http, url)
    old = await cache.get(ACCOUNT)
    cache.invalidate(ACCOUNT, old)
    new = await cache.get(ACCOUNT)
    assert new != old
    cache.invalidate(ACCOUNT, old)  # a late 401 for the old token leaves the new one alone
    assert await cache.get(ACCOUNT) == new
    assert fake.token_grants == 2


async def test_accounts_have_their_own_tokens(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    fake.add_client("other", "other-secret")
    other = RoktAccount(
        mid="2", account_code="beta", client_id="other", client_secret="other-secret"
    )
    cache = TokenCache(http, url)
    assert await cache.get(ACCOUNT) != await cache.get(other)
    assert fake.token_grants == 2


async def test_failures_are_not_cached_and_nothing_secret_is_logged(
    rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = rokt
    caplog.set_level(logging.DEBUG)
    cache = TokenCache(http, url)
    fake.token_endpoint_down = True
    with pytest.raises(RoktRetryable):
        await cache.get(ACCOUNT)
    fake.token_endpoint_down = False
    token = await cache.get(ACCOUNT)
    assert token not in caplog.text
    assert "csecret" not in caplog.text
