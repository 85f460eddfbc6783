"""The sync worker, one round at a time, against the fake Marketing Cloud."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from cryptography.fernet import Fernet

from activity.crypto import Keyring
from activity.devtools.fake_sfmc import Failure, FakeSfmc
from activity.devtools.jb import test_settings
from activity.devtools.subscription_story import read_rows
from activity.sfmc import soap
from activity.sfmc.connections import ConnectionService
from activity.sfmc.data_extension import CUSTOMER_KEY, FIELDS, NAME, Field
from activity.sfmc.sync import SyncWorker
from activity.sfmc.tokens import SfmcTokens
from activity.storage.inbox import HELD, NewWebhook
from activity.storage.models import DEAD, QUEUED, SENT
from activity.storage.postgres import PostgresStore
from activity.storage.sqlite import SQLiteStore
from tests import pg
from tests.sfmc_support import MID, access_for, connect, connected_store


@dataclass
class Env:
    store: SQLiteStore
    worker: SyncWorker
    fake: FakeSfmc
    url: str
    http: aiohttp.ClientSession
    keyring: Keyring
    connections: ConnectionService
    tokens: SfmcTokens


@pytest.fixture
async def env(
    tmp_path: Path, http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]
) -> AsyncIterator[Env]:
    fake, url = sfmc
    store, keyring, connections = await connected_store(tmp_path, http, url)
    tokens = SfmcTokens(connections, http)
    worker = SyncWorker(store, connections, tokens, http, status_delays=(0.0, 0.05))
    yield Env(store, worker, fake, url, http, keyring, connections, tokens)
    await store.close()


async def install(env: Env, fields: list[Field]) -> None:
    access = await access_for(env.http, env.url)
    body = soap.create_data_extension(CUSTOMER_KEY, NAME, fields)
    assert (await soap.call(env.http, access, "Create", body, "CreateResponse")).results


@asynccontextmanager
async def installed_on_postgresql(
    http: aiohttp.ClientSession, url: str, postgres_url: str
) -> AsyncIterator[tuple[PostgresStore, Keyring]]:
    """An empty PostgreSQL store connected to the fake, whose data extension is installed."""
    await pg.empty_tables(postgres_url)
    store = PostgresStore(postgres_url)
    await store.open()
    try:
        keyring = Keyring([Fernet.generate_key().decode()])
        await connect(store, keyring, http, url)
        access = await access_for(http, url)
        body = soap.create_data_extension(CUSTOMER_KEY, NAME, list(FIELDS))
        await soap.call(http, access, "Create", body, "CreateResponse")
        yield store, keyring
    finally:
        await store.close()


async def accept(env: Env, sub: str, at: float, **values: object) -> None:
    changes = {"CalendarSubscriptionId": (sub, 0.0), **{k: (v, at) for k, v in values.items()}}
    hook = NewWebhook(MID, str(uuid.uuid4()), "Subscribe", sub, changes)
    assert await env.store.inbox.accept(hook, 1.0)


async def test_a_row_marketing_cloud_refuses_is_dead_with_its_message_and_alone(env: Env) -> None:
    # Installed by hand with a narrower Email than ours: Marketing Cloud refuses one row.
    narrow = [Field("Email", "Text", 10) if f.name == "Email" else f for f in FIELDS]
    await install(env, narrow)
    subs = [str(uuid.uuid4()) for _ in range(3)]
    await accept(env, subs[0], 5.0, Email="a@b.co")
    await accept(env, subs[1], 5.0, Email="much-too-long@example.com")
    await accept(env, subs[2], 5.0, Email="c@d.co")
    assert await env.worker.run_once() == 3
    assert await env.store.inbox.counts(MID) == {SENT: 2, DEAD: 1}
    (dead,) = await env.store.inbox.recent_dead(MID)
    assert dead.subscription_id == subs[1]
    assert "longer than 10" in dead.last_error and dead.last_error.startswith("sfmc_rejected")
    rows = await read_rows(env.http, env.url, MID)
    assert sorted(r["CalendarSubscriptionId"] for r in rows) == sorted([subs[0], subs[2]])
    assert [c.endpoint for c in env.fake.calls() if c.endpoint.startswith("rows")] == [
        "rows", "rows_status", "rows_results",
    ]  # fmt: skip


async def test_a_state_merged_while_in_flight_is_sent_again(env: Env) -> None:
    await install(env, list(FIELDS))
    sub = str(uuid.uuid4())
    await accept(env, sub, 5.0, Email="old@x.co")
    # The status answer takes a while; meanwhile another instance merges a newer change.
    done = {"status": {"requestStatus": "Complete", "hasErrors": False}}
    env.fake.fail("rows_status", [Failure(200, done, delay=0.5)])
    syncing = asyncio.create_task(env.worker.run_once())
    await asyncio.sleep(0.2)
    await env.store.inbox.merge(MID, {sub: [{"Email": ("new@x.co", 9.0)}]}, 2.0)
    await syncing
    assert await env.store.inbox.counts(MID) == {QUEUED: 1}
    await env.worker.run_once()
    assert await env.store.inbox.counts(MID) == {SENT: 1}
    (row,) = await read_rows(env.http, env.url, MID)
    assert row["Email"] == "new@x.co"


async def test_no_connection_holds_and_a_connection_releases(env: Env) -> None:
    await install(env, list(FIELDS))
    await env.store.delete_sfmc_connection(MID)
    await accept(env, str(uuid.uuid4()), 5.0, Email="a@b.co")
    assert await env.worker.run_once() == 1
    assert await env.store.inbox.counts(MID) == {HELD: 1}
    (held,) = await env.store.inbox.recent_dead(MID) or [None]
    assert held is None  # held is not dead
    assert await env.worker.run_once() == 0  # held work is not retried
    await connect(env.store, env.keyring, env.http, env.url)
    env.worker.unhold_soon()
    assert await env.worker.run_once() == 1
    assert await env.store.inbox.counts(MID) == {SENT: 1}


async def test_before_the_install_work_is_held_not_killed(env: Env) -> None:
    worker = SyncWorker(
        env.store, env.worker._connections, env.worker._tokens, env.http,
        status_delays=(0.0,), unhold_check_seconds=0.0,
    )  # fmt: skip
    await accept(env, str(uuid.uuid4()), 5.0, Email="a@b.co")
    assert await worker.run_once() == 1
    counts = await env.store.inbox.counts(MID)
    assert counts == {HELD: 1}
    assert await env.store.inbox.recent_dead(MID) == []
    await install(env, list(FIELDS))
    assert await worker.run_once() == 1  # the next check releases it; now it lands
    assert await env.store.inbox.counts(MID) == {SENT: 1}
    assert len(await read_rows(env.http, env.url, MID)) == 1


@pytest.mark.postgres
async def test_two_instances_on_postgresql_end_in_the_newest_state(
    tmp_path: Path, http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str], postgres_url: str
) -> None:
    """Webhooks arrive while two workers sync from one inbox: each row ends newest, once."""
    from activity.devtools.subscription_story import check_rows, story
    from activity.rokt.webhook_payloads import parse_webhook

    _, url = sfmc
    async with installed_on_postgresql(http, url, postgres_url) as (store, keyring):
        workers = []
        for owner in ("a", "b"):
            connections = ConnectionService(store, keyring, test_settings(tmp_path))
            workers.append(
                SyncWorker(
                    store, connections, SfmcTokens(connections, http), http, owner=owner,
                    batch_size=40, status_delays=(0.0, 0.02),
                )
            )  # fmt: skip
        traffic = story("acme", 150, seed=23)
        import json

        async def feed() -> None:
            for n, hook in enumerate(traffic.webhooks):
                parsed = parse_webhook(json.dumps(hook).encode(), 1.9e9 + n)
                await store.inbox.accept(
                    NewWebhook(MID, parsed.webhook_id, parsed.event_type,
                               parsed.subscription_id, parsed.changes),
                    1.0,
                )  # fmt: skip
                if n % 25 == 0:
                    await asyncio.sleep(0.01)

        async def sync(worker: SyncWorker) -> None:
            # A deadline, not a count of rounds: on a loaded machine the other worker may hold
            # the leases for many rounds, and stopping early would check rows not yet synced.
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                await worker.run_once()
                if not feeding.done():
                    continue
                counts = await store.inbox.counts(MID)
                if not counts.get(QUEUED) and not counts.get("sending"):
                    return
                await asyncio.sleep(0.01)

        feeding = asyncio.create_task(feed())
        await asyncio.gather(feeding, *(sync(w) for w in workers))
        assert check_rows(traffic.expected, await read_rows(http, url, MID)) == []
        assert set(await store.inbox.counts(MID)) == {SENT}


@pytest.mark.parametrize(
    ("endpoint", "status", "body"),
    [
        ("rows_status", 400, {"message": "Invalid request id", "errorcode": 10000}),
        ("rows_status", 404, {"message": "Request not found", "errorcode": 10001}),
        ("rows_results", 403, {"message": "Insufficient privileges", "errorcode": 0}),
        ("rows", 202, {"requestId": "../../../v2/token", "resultMessages": []}),
        ("rows", 202, {"requestId": "r" * 5000, "resultMessages": []}),
    ],
)
async def test_a_refused_status_or_results_call_or_a_bad_request_id_costs_no_row(
    env: Env, endpoint: str, status: int, body: dict[str, object]
) -> None:
    # The status and results calls ask about a request; their 4xx says nothing against the
    # rows (which Marketing Cloud took, or will take again: upserts are idempotent). They are
    # sent again later, never dead letters and never held as "not installed".
    await install(env, list(FIELDS))
    await accept(env, str(uuid.uuid4()), 5.0, Email="a@b.co")
    await accept(env, str(uuid.uuid4()), 5.0, Email="c@d.co")
    if endpoint == "rows_results":
        env.fake.fail("rows_status", [Failure(200, {"status": {"requestStatus": "Complete",
                                                               "hasErrors": True}})])  # fmt: skip
    env.fake.fail(endpoint, [Failure(status, body)] * 3)  # the split halves meet it too
    assert await env.worker.run_once() == 2
    counts = await env.store.inbox.counts(MID)
    assert DEAD not in counts and HELD not in counts, counts
    assert await env.store.inbox.recent_dead(MID) == []
    calls = [c.path for c in env.fake.calls()]
    assert not any("v2/token" in p and "async" in p for p in calls), calls


async def test_marketing_cloud_text_with_a_nul_or_lone_surrogate_still_ends_the_row_on_postgresql(
    tmp_path: Path, http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str], postgres_url: str
) -> None:
    # Marketing Cloud's reason becomes the dead letter's last_error. PostgreSQL text holds no
    # NUL: stored as sent, the row could never be marked and would be claimed and refused
    # again forever, with a traceback each round.
    fake, url = sfmc
    async with installed_on_postgresql(http, url, postgres_url) as (store, keyring):
        connections = ConnectionService(store, keyring, test_settings(tmp_path))
        worker = SyncWorker(
            store, connections, SfmcTokens(connections, http), http, status_delays=(0.0,)
        )
        sub = str(uuid.uuid4())
        changes = {"CalendarSubscriptionId": (sub, 0.0), "Email": ("a@b.co", 5.0)}
        assert await store.inbox.accept(NewWebhook(MID, "w-1", "Subscribe", sub, changes), 1.0)
        refusal = {"message": "Invalid\x00 value \ud800 for Email", "errorcode": 10000}
        fake.fail("rows", [Failure(400, refusal)])
        assert await worker.run_once() == 1
        assert await store.inbox.counts(MID) == {DEAD: 1}
        (dead,) = await store.inbox.recent_dead(MID)
        assert "Invalid" in dead.last_error and "\x00" not in dead.last_error
        dead.last_error.encode("utf-8")  # no lone surrogate either


@pytest.mark.parametrize(
    "status",
    [
        {"status": {"requestStatus": "Error", "hasErrors": True}},
        {"status": {"requestStatus": "Complete", "hasErrors": True}},
    ],
)
async def test_a_request_said_to_fail_whose_results_name_no_row_is_sent_again_not_counted_sent(
    env: Env, status: dict[str, object]
) -> None:
    # Marketing Cloud says the request had errors, and its results list none (or cannot be
    # read): nothing says the rows arrived, so they are sent again (upserts are idempotent).
    await install(env, list(FIELDS))
    await accept(env, str(uuid.uuid4()), 5.0, Email="a@b.co")
    env.fake.fail("rows_status", [Failure(200, status)])
    assert await env.worker.run_once() == 1
    assert await env.store.inbox.counts(MID) == {QUEUED: 1}
    (item,) = await env.store.inbox.claim("t", 1e12, 30, 10)
    assert item.attempts == 2 and "named no row" in item.last_error


async def test_a_connection_stored_under_a_retired_key_holds_the_work_and_asks_for_a_sign_in(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    # ACTIVITY_ENCRYPTION_KEY replaced without the old key: the stored secret is unreadable.
    # The work waits (held, nothing lost) and the connection says it needs a new sign-in,
    # instead of a traceback every round until the rows die as "internal: ConfigError".
    await install(env, list(FIELDS))
    await accept(env, str(uuid.uuid4()), 5.0, Email="a@b.co")
    rekeyed = ConnectionService(
        env.store, Keyring([Fernet.generate_key().decode()]), test_settings(Path("."))
    )
    worker = SyncWorker(
        env.store, rekeyed, SfmcTokens(rekeyed, env.http), env.http, status_delays=(0.0,)
    )
    assert await worker.run_once() == 1
    assert await env.store.inbox.counts(MID) == {HELD: 1}
    connection = await env.store.get_sfmc_connection(MID)
    assert connection is not None and connection.needs_signin
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


async def test_a_connection_without_permission_to_write_rows_holds_the_work_not_kills_it(
    env: Env, tmp_path: Path
) -> None:
    # Someone whose sign-in lacks data_extensions_write (a narrower SFMC_SCOPES, or a user
    # without the permission) replaced the connection: Marketing Cloud answers 403 to every
    # upsert. That is no row's fault: the work waits for a sign-in that may write, nothing
    # becomes a dead letter.
    from activity.sfmc import oauth
    from tests.devtools.test_fake_sfmc import REDIRECT, authorize

    await install(env, list(FIELDS))
    code = (await authorize(env.http, env.url, mid=MID, scope="offline data_extensions_read"))[
        "code"
    ]
    tokens = await oauth.exchange_code(
        env.http, env.url, client_id="sfmc-cid", client_secret="sfmc-csecret", code=code,
        redirect_uri=REDIRECT,
    )  # fmt: skip
    info = await oauth.userinfo(env.http, env.url, tokens.access_token)
    sso = test_settings(
        tmp_path, sfmc_client_id="sfmc-cid", sfmc_client_secret="sfmc-csecret",
        sfmc_auth_url=env.url,
    )  # fmt: skip
    connections = ConnectionService(env.store, env.keyring, sso)
    await connections.save_sign_in(info, tokens, tssd="t", auth_url=env.url)
    worker = SyncWorker(
        env.store, connections, SfmcTokens(connections, env.http), env.http, status_delays=(0.0,)
    )
    for _ in range(3):
        await accept(env, str(uuid.uuid4()), 5.0, Email="a@b.co")
    assert await worker.run_once() == 3
    assert await env.store.inbox.counts(MID) == {HELD: 3}
    assert await env.store.inbox.recent_dead(MID) == []
    # Asked with the cached token, then a fresh one (it may predate a new sign-in); not per row.
    assert [c.status for c in env.fake.calls("rows")] == [403, 403]
    connection = await env.store.get_sfmc_connection(MID)
    assert connection is not None and connection.needs_signin  # the settings page says so
    # Someone who may write signs in: the held work resumes, nothing lost.
    scope = "offline data_extensions_read data_extensions_write"
    code = (await authorize(env.http, env.url, mid=MID, scope=scope))["code"]
    tokens = await oauth.exchange_code(
        env.http, env.url, client_id="sfmc-cid", client_secret="sfmc-csecret", code=code,
        redirect_uri=REDIRECT,
    )  # fmt: skip
    await connections.save_sign_in(info, tokens, tssd="t", auth_url=env.url)
    worker.unhold_soon()
    assert await worker.run_once() == 3
    assert await env.store.inbox.counts(MID) == {SENT: 3}


async def test_after_a_disconnect_no_cached_token_keeps_writing(env: Env) -> None:
    # "Disconnect" forgets the connection: background work must stop using it at once, not
    # when the access token it cached (about 20 minutes) runs out.
    await install(env, list(FIELDS))
    await accept(env, str(uuid.uuid4()), 5.0, Email="a@b.co")
    assert await env.worker.run_once() == 1  # a token is now cached
    assert await env.store.inbox.counts(MID) == {SENT: 1}
    await env.connections.disconnect(MID)
    await accept(env, str(uuid.uuid4()), 6.0, Email="c@d.co")
    assert await env.worker.run_once() == 1
    assert await env.store.inbox.counts(MID) == {SENT: 1, HELD: 1}
    assert len(env.fake.calls("rows")) == 1
