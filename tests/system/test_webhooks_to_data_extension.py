"""The second flow over real HTTP: fake Rokt -> service -> fake Marketing Cloud."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from activity.appkeys import (
    CONNECTIONS,
    HTTP,
    SFMC_TOKENS,
    STORE,
    SYNC_WORKER,
)
from activity.devtools.fake_rokt import webhooks as rokt
from activity.devtools.fake_rokt.server import start_fake_rokt
from activity.devtools.fake_sfmc import Failure, FakeSfmc
from activity.devtools.subscription_story import check_rows, read_rows, story
from activity.sfmc import installer, oauth
from activity.storage.inbox import HELD
from activity.storage.models import DEAD, QUEUED, SENDING
from tests import pg
from tests.admin_support import ClientFactory, admin_client, signed_in
from tests.devtools.test_fake_sfmc import REDIRECT, authorize
from tests.sfmc_support import syncing_app

MID = "100000001"  # a business unit of the fake Marketing Cloud
ServerFactory = Callable[..., Any]
pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")


@dataclass
class Flow:
    app: web.Application
    server: TestServer
    sfmc: FakeSfmc
    sfmc_url: str
    sender: rokt.WebhookSender
    rokt_url: str
    http: aiohttp.ClientSession

    async def send(self, webhooks: list[dict[str, Any]]) -> None:
        for start in range(0, len(webhooks), 200):  # the fake takes bodies up to 1 MB
            chunk = webhooks[start : start + 200]
            async with self.http.post(f"{self.rokt_url}/__fake/webhooks/send", json=chunk) as r:
                assert r.status == 200

    async def settled(self, within: float = 60.0) -> dict[str, int]:
        """Wait until Rokt delivered everything and nothing waits in the inbox."""
        await self.sender.drain(within)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            counts = await self.app[STORE].inbox.counts(MID)
            if not any(counts.get(state) for state in (QUEUED, SENDING, HELD)):
                return counts
            await asyncio.sleep(0.05)
        raise AssertionError(f"inbox not settled: {counts}")

    async def rows(self) -> list[dict[str, Any]]:
        return await read_rows(self.http, self.sfmc_url, MID)


@asynccontextmanager
async def running_flow(
    tmp_path: Path, sfmc: tuple[FakeSfmc, str], aiohttp_server: ServerFactory, database_url: str
) -> AsyncIterator[Flow]:
    fake, sfmc_url = sfmc
    syncing = await syncing_app(aiohttp_server, tmp_path, sfmc_url, database_url=database_url)
    app, server = syncing.app, syncing.server
    sender = rokt.WebhookSender(schedule=(0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 4.0))
    sender.register(syncing.webhook_url)
    _, rokt_url, runner = await start_fake_rokt(webhooks=sender)
    async with aiohttp.ClientSession() as http:
        yield Flow(app, server, fake, sfmc_url, sender, rokt_url, http)
    await runner.cleanup()


@pytest.fixture
async def flow(
    tmp_path: Path, sfmc: tuple[FakeSfmc, str], aiohttp_server: ServerFactory
) -> AsyncIterator[Flow]:
    database = f"sqlite:///{tmp_path / 'activity.db'}"
    async with running_flow(tmp_path, sfmc, aiohttp_server, database) as running:
        yield running


async def install(flow: Flow) -> installer.Installed:
    return await installer.install_and_record(
        flow.app[HTTP], flow.app[SFMC_TOKENS], flow.app[STORE], MID, user_id="test"
    )


async def test_install_is_idempotent(flow: Flow) -> None:
    first = await install(flow)
    second = await install(flow)
    assert (first.created, second.created) == (True, False)
    assert first.object_id == second.object_id
    soap = [(c.body["action"], c.status) for c in flow.sfmc.calls("soap")]
    assert soap == [("Retrieve", 200), ("Create", 200), ("Retrieve", 200)]
    assert await installer.is_installed(flow.app[STORE], MID)


async def test_a_thousand_webhooks_end_as_one_row_per_subscription_in_its_newest_state(
    flow: Flow,
) -> None:
    await thousand_webhooks(flow)


@pytest.mark.postgres
async def test_the_same_on_postgresql(
    tmp_path: Path,
    sfmc: tuple[FakeSfmc, str],
    aiohttp_server: ServerFactory,
    postgres_url: str,
) -> None:
    await pg.empty_tables(postgres_url)
    async with running_flow(tmp_path, sfmc, aiohttp_server, postgres_url) as running:
        await thousand_webhooks(running)


async def thousand_webhooks(flow: Flow) -> None:
    await install(flow)
    traffic = story("acme", 580, seed=11)
    assert 950 <= len(traffic.webhooks) <= 1100
    assert traffic.reordered > 50 and traffic.duplicates > 100
    await flow.send(traffic.webhooks)
    counts = await flow.settled()
    assert check_rows(traffic.expected, await flow.rows()) == []
    assert counts.get(DEAD, 0) == 0
    assert all(o.delivered for o in flow.sender.outcomes.values())
    assert {a.status for a in flow.sender.attempts} == {200}  # each answered at once
    assert len(flow.sender.attempts) == len(traffic.webhooks)
    upserts = flow.sfmc.calls("rows")
    # Rows arriving together share calls: far fewer upserts than webhooks.
    assert 1 <= len(upserts) <= 20, len(upserts)
    assert sum(c.body["rows"] for c in upserts) >= traffic.subscriptions


async def test_an_outage_delays_but_loses_nothing(flow: Flow) -> None:
    await install(flow)
    flow.sfmc.fail("rows", [Failure(503), Failure(0)])  # a 503, then a dropped connection
    flow.sfmc.fail("rows_status", [Failure(500)])
    traffic = story("acme", 50, seed=3)
    await flow.send(traffic.webhooks)
    await flow.settled(within=90)
    assert check_rows(traffic.expected, await flow.rows()) == []
    statuses = [c.status for c in flow.sfmc.calls("rows")]
    assert statuses[:2] == [503, 599] and 202 in statuses


async def test_a_refused_row_is_a_dead_letter_with_the_reason_and_spares_the_others(
    flow: Flow,
) -> None:
    await install(flow)
    traffic = story("acme", 20, seed=5)
    await flow.send(traffic.webhooks)
    await flow.settled()
    assert check_rows(traffic.expected, await flow.rows()) == []
    # A row the data extension refuses (here: installed by someone else without that field).
    bad = rokt.subscribe("acme", "0f1e2d3c-4b5a-4969-8877-665544332211")
    flow.sfmc.fail("rows", [Failure(400, {"message": "Invalid field", "errorcode": 10000})])
    await flow.send([bad])
    await flow.settled()
    (dead,) = await flow.app[STORE].inbox.recent_dead(MID)
    assert dead.webhook_id == bad["eventId"]
    assert "sfmc_rejected" in dead.last_error and "Invalid field" in dead.last_error


async def test_an_expired_refresh_token_holds_the_work_and_the_settings_page_says_so(
    flow: Flow, aiohttp_server: ServerFactory, aiohttp_client: ClientFactory
) -> None:
    await install(flow)
    store = flow.app[STORE]
    await sign_in_with_sso(flow)  # a refresh-token connection, as the SSO callback stores it
    flow.sfmc.revoke_refresh_tokens()  # the refresh token no longer works (invalid_grant)
    flow.app[SFMC_TOKENS].forget_all()
    traffic = story("acme", 10, seed=9)
    await flow.send(traffic.webhooks)
    await flow.sender.drain(10)
    unique = len({w["eventId"] for w in traffic.webhooks})
    for _ in range(200):
        if (await store.inbox.counts(MID)).get("held") == unique:
            break
        await asyncio.sleep(0.05)
    assert (await store.inbox.counts(MID)) == {"held": unique}
    assert await flow.rows() == []
    connection = await store.get_sfmc_connection(MID)
    assert connection is not None and connection.needs_signin
    browser = await admin_client(aiohttp_server, aiohttp_client, flow.server)
    await signed_in(browser, mid=MID)
    page = await (await browser.get("/settings")).text()
    assert "Marketing Cloud needs a new sign-in" in page
    assert f"{unique} webhook(s) are on hold" in page
    # Signing in again stores a working connection: the held work resumes, nothing lost.
    await sign_in_with_sso(flow)
    flow.app[SYNC_WORKER].unhold_soon()
    await flow.settled()
    assert check_rows(traffic.expected, await flow.rows()) == []
    page = await (await browser.get("/settings")).text()
    assert "needs a new sign-in" not in page


async def sign_in_with_sso(flow: Flow) -> None:
    # The scopes a sign-in asks for by default: rows need data_extensions_write.
    scope = "offline data_extensions_read data_extensions_write"
    code = (await authorize(flow.http, flow.sfmc_url, mid=MID, scope=scope))["code"]
    tokens = await oauth.exchange_code(
        flow.http, flow.sfmc_url, client_id="sfmc-cid", client_secret="sfmc-csecret",
        code=code, redirect_uri=REDIRECT,
    )  # fmt: skip
    info = await oauth.userinfo(flow.http, flow.sfmc_url, tokens.access_token)
    await flow.app[CONNECTIONS].save_sign_in(
        info, tokens, tssd="fake-tenant", auth_url=flow.sfmc_url
    )


async def test_metrics_count_webhooks_and_synced_rows(flow: Flow) -> None:
    from activity.appkeys import METRICS

    await install(flow)
    traffic = story("acme", 30, seed=13)
    await flow.send(traffic.webhooks)
    await flow.settled()
    registry = flow.app[METRICS].registry
    unique = len({w["eventId"] for w in traffic.webhooks})

    def value(name: str, **labels: str) -> float:
        return registry.get_sample_value(name, labels) or 0.0

    assert value("activity_webhooks_total", outcome="accepted") == unique
    assert value("activity_webhooks_total", outcome="duplicate") == len(traffic.webhooks) - unique
    assert value("activity_sfmc_sync_total", outcome="sent") == unique
    # The depth gauge is refreshed at most every 5 s, so it is only known to exist here.
    assert registry.get_sample_value("activity_inbox_depth", {}) is not None
