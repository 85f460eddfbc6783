"""What only the PostgreSQL store does: pool options, locked migrations, several instances."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from activity import create_app
from activity.config import ConfigError
from activity.devtools.jb import test_settings
from activity.errors import StorageUnavailable
from activity.storage.migrations import migrations_for
from activity.storage.models import Answer
from activity.storage.postgres import PostgresStore
from activity.storage.postgres_setup import pool_options
from tests import pg
from tests.storage.test_store_contract import QUEUED_ANSWER, enqueue, item

Instances = Callable[[int], Awaitable[list[PostgresStore]]]
ClientFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def instances(postgres_url: str) -> AsyncIterator[Instances]:
    """Opens N stores on one clean database, as N service instances would."""
    opened: list[PostgresStore] = []

    async def make(count: int) -> list[PostgresStore]:
        stores = [PostgresStore(postgres_url, min_size=1, max_size=4) for _ in range(count)]
        await asyncio.gather(*(s.open() for s in stores))
        opened.extend(stores)
        return stores

    await pg.empty_tables(postgres_url)
    yield make
    await asyncio.gather(*(s.close() for s in opened))


# --- options (no server needed) -------------------------------------------------------------


def test_pool_options_come_from_the_url_and_are_removed_from_it() -> None:
    plain = pool_options("postgresql://u@db:5432/activity")
    assert (plain.dsn, plain.min_size, plain.max_size, plain.command_timeout) == (
        "postgresql://u@db:5432/activity", 2, 10, 30.0,
    )  # fmt: skip
    tuned = pool_options(
        "postgresql://u@db/activity?pool_min=1&sslmode=require&pool_max=20&command_timeout=5"
    )
    assert (tuned.dsn, tuned.min_size, tuned.max_size, tuned.command_timeout) == (
        "postgresql://u@db/activity?sslmode=require", 1, 20, 5.0,
    )  # fmt: skip
    assert pool_options("postgresql://u@db/a?pool_max=20", max_size=3, min_size=0).max_size == 3


@pytest.mark.parametrize(
    "query", ["pool_max=0", "pool_min=5&pool_max=4", "pool_max=many", "command_timeout=0"]
)
def test_bad_pool_options_are_config_errors(query: str) -> None:
    with pytest.raises(ConfigError, match="ACTIVITY_DATABASE_URL"):
        pool_options(f"postgresql://u@db/a?{query}")


async def test_unreachable_server_is_storage_unavailable() -> None:
    store = PostgresStore("postgresql://postgres@127.0.0.1:1/nothing", command_timeout=2)
    with pytest.raises(StorageUnavailable):
        await store.open()
    await store.close()


# --- migrations -----------------------------------------------------------------------------


@pytest.mark.postgres
async def test_instances_starting_together_apply_each_migration_once() -> None:
    versions = [m.version for m in migrations_for("postgres")]
    async with pg.fresh_database() as url:
        stores = [PostgresStore(url, min_size=1, max_size=2) for _ in range(8)]
        await asyncio.gather(*(s.open() for s in stores))
        try:
            applied = sorted(v for s in stores for v in s.applied_migrations)
            assert applied == versions
            conn = await asyncpg.connect(url)
            try:
                recorded = await conn.fetch("SELECT version FROM schema_migrations ORDER BY 1")
            finally:
                await conn.close()
            assert [r["version"] for r in recorded] == versions

            late = PostgresStore(url, min_size=1, max_size=1)
            await late.open()
            assert late.applied_migrations == []
            await late.close()
        finally:
            await asyncio.gather(*(s.close() for s in stores))


# --- several instances ----------------------------------------------------------------------


@pytest.mark.postgres
async def test_instances_accept_one_key_once(instances: Instances) -> None:
    a, b = await instances(2)
    calls = [
        (a if n % 2 else b).accept("act", "same", Answer(200, {"n": n}), [item(n)], 1.0)
        for n in range(20)
    ]
    results = await asyncio.gather(*calls)
    assert sum(new for _, new in results) == 1
    winner = next(answer for answer, new in results if new)
    assert {answer.body["n"] for answer, _ in results} == {winner.body["n"]}
    assert (await a.outbox_depth(1.0)).pending == 1


@pytest.mark.postgres
async def test_overlapping_group_commits_do_not_deadlock(instances: Instances) -> None:
    a, b = await instances(2)
    keys = [f"k{n:03}" for n in range(120)]
    results = await asyncio.gather(
        *(a.accept("act", k, QUEUED_ANSWER, [item()], 1.0) for k in keys),
        *(b.accept("act", k, QUEUED_ANSWER, [item()], 1.0) for k in reversed(keys)),
    )
    assert sum(new for _, new in results) == len(keys)
    assert (await b.outbox_depth(1.0)).pending == len(keys)


@pytest.mark.postgres
async def test_one_bad_accept_does_not_fail_its_group(instances: Instances) -> None:
    (store,) = await instances(1)
    contact_keys = [f"contact-{n}" for n in range(10)]
    contact_keys[3] = "nul\x00"  # PostgreSQL text cannot hold NUL
    calls = [
        store.accept("act", f"k{n}", QUEUED_ANSWER, [item(n, contact_key=key)], 1.0)
        for n, key in enumerate(contact_keys)
    ]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[3], StorageUnavailable)
    assert all(r == (QUEUED_ANSWER, True) for n, r in enumerate(results) if n != 3)
    assert (await store.outbox_depth(1.0)).pending == 9


@pytest.mark.postgres
async def test_claim_skips_rows_another_claimer_has_locked(
    instances: Instances, postgres_url: str
) -> None:
    (store,) = await instances(1)
    await enqueue(store, 6)
    other = await asyncpg.connect(postgres_url)
    try:
        async with other.transaction():
            await other.execute("SELECT id FROM outbox WHERE id <= 3 FOR UPDATE")
            claimed = await asyncio.wait_for(store.claim("w1", 100.0, 30.0, 10), timeout=5)
            assert [i.id for i in claimed] == [4, 5, 6]
    finally:
        await other.close()
    assert [i.id for i in await store.claim("w2", 100.0, 30.0, 10)] == [1, 2, 3]


@pytest.mark.postgres
async def test_items_of_a_dead_instance_are_claimed_after_its_lease(instances: Instances) -> None:
    dying, survivor = await instances(2)
    await enqueue(dying, 4)
    taken = [i.id for i in await dying.claim("dying", 100.0, 60.0, 10)]
    await dying.close()  # no release(): as if the process had been killed
    assert await survivor.claim("survivor", 159.0, 60.0, 10) == []
    again = await survivor.claim("survivor", 160.5, 60.0, 10)
    assert [(i.id, i.attempts) for i in again] == [(n, 2) for n in taken]


@pytest.mark.postgres
async def test_close_commits_accepts_already_waiting(postgres_url: str) -> None:
    await pg.empty_tables(postgres_url)
    store = PostgresStore(postgres_url)
    await store.open()
    waiting = [
        asyncio.create_task(store.accept("act", f"k{n}", QUEUED_ANSWER, [item(n)], 1.0))
        for n in range(50)
    ]
    await asyncio.sleep(0)
    await store.close()
    assert all(t.result() == (QUEUED_ANSWER, True) for t in waiting)

    store = PostgresStore(postgres_url)
    await store.open()
    try:
        assert (await store.outbox_depth(1.0)).pending == 50
    finally:
        await store.close()


@pytest.mark.postgres
async def test_the_service_starts_on_postgres(
    aiohttp_client: ClientFactory, tmp_path: Path, postgres_url: str
) -> None:
    settings = test_settings(tmp_path, database_url=postgres_url, run_delivery=False)
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/readyz")).status == 200
