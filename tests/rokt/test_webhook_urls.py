"""WebhookUrls: each business unit's secret Rokt webhook URL, its lookup and key rotation."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.fernet import Fernet

from activity.config import ConfigError
from activity.crypto import Keyring
from activity.errors import StorageUnavailable
from activity.rokt.webhook_urls import (
    LOOKUP_TTL_SECONDS,
    MAX_TOKEN_LENGTH,
    MISS_RELOAD_SECONDS,
    WebhookUrls,
    token_hash,
)
from activity.storage.inbox import WebhookEndpoint
from activity.storage.sqlite import SQLiteStore
from tests.clock import Clock

BASE = "https://activity.example.com"
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def token_of(url: str) -> str:
    assert url.startswith(f"{BASE}/webhooks/rokt/")
    return url.rsplit("/", 1)[1]


async def test_a_url_is_made_once_and_rotation_retires_the_old_one(store: SQLiteStore) -> None:
    urls = WebhookUrls(store, Keyring([OLD]), BASE + "/")
    first = await urls.url_for("100")
    assert await urls.url_for("100") == first
    assert await urls.mid_for(token_of(first)) == "100"
    rotated = await urls.url_for("100", rotate=True)
    assert rotated != first
    assert await urls.mid_for(token_of(first)) is None
    assert await urls.mid_for(token_of(rotated)) == "100"
    stored = await store.inbox.get_endpoint("100")
    assert stored is not None and stored.token_hash == token_hash(token_of(rotated))
    assert token_of(rotated).encode() not in stored.token_enc  # kept encrypted, not as text


async def test_tokens_that_cannot_be_ours_are_not_looked_up(store: SQLiteStore) -> None:
    urls = WebhookUrls(store, Keyring([OLD]), BASE)
    await urls.url_for("100")
    assert await urls.mid_for("") is None
    assert await urls.mid_for("x" * (MAX_TOKEN_LENGTH + 1)) is None
    assert await urls.mid_for("\ud800") is None  # a lone surrogate hashes, finds nothing


async def test_rotate_keys_lets_the_old_key_go_and_keeps_every_url(store: SQLiteStore) -> None:
    before = WebhookUrls(store, Keyring([OLD]), BASE)
    made = {mid: await before.url_for(mid) for mid in ("100", "200")}
    with pytest.raises(ConfigError):
        await WebhookUrls(store, Keyring([NEW]), BASE).url_for("100")

    assert await WebhookUrls(store, Keyring([NEW, OLD]), BASE).rotate_keys() == 2

    after = WebhookUrls(store, Keyring([NEW]), BASE)
    for mid, url in made.items():
        assert await after.url_for(mid) == url  # shown again, under the new key alone
        assert await after.mid_for(token_of(url)) == mid  # Rokt's calls still arrive
        stored = await store.inbox.get_endpoint(mid)
        assert stored is not None
        assert Fernet(NEW).decrypt(stored.token_enc).decode() == token_of(url)


async def test_rotate_keys_keeps_a_url_rotated_meanwhile(store: SQLiteStore) -> None:
    urls = WebhookUrls(store, Keyring([OLD]), BASE)
    await urls.url_for("100")
    listed = await store.inbox.list_endpoints()
    rotated = await urls.url_for("100", rotate=True)  # between the listing and the update
    (old,) = listed
    assert not await store.inbox.reencrypt_endpoint("100", old.token_enc, b"stale")
    assert await urls.url_for("100") == rotated


class CountingReads:
    """The store's inbox as WebhookUrls sees it, counting the reads of every token."""

    def __init__(self, store: SQLiteStore) -> None:
        self.reads = 0
        self._list = store.inbox.list_endpoints

        async def list_endpoints() -> list[WebhookEndpoint]:
            self.reads += 1
            return await self._list()

        store.inbox.list_endpoints = list_endpoints  # type: ignore[method-assign]


async def test_a_flood_of_made_up_tokens_reads_the_database_once_a_second(
    store: SQLiteStore,
) -> None:
    clock = Clock()
    urls = WebhookUrls(store, Keyring([OLD]), BASE, clock=clock)
    known = token_of(await urls.url_for("100"))
    counting = CountingReads(store)
    made_up = await asyncio.gather(*(urls.mid_for(f"made-up-{n}") for n in range(500)))
    assert made_up == [None] * 500
    assert await urls.mid_for(known) == "100"
    assert counting.reads == 1  # all 500 waited for one read, then found it fresh
    clock.now += MISS_RELOAD_SECONDS
    assert await urls.mid_for("made-up-again") is None
    assert counting.reads == 2


async def test_a_url_made_on_another_instance_is_known_after_one_miss_interval(
    store: SQLiteStore,
) -> None:
    clock = Clock()
    here = WebhookUrls(store, Keyring([OLD]), BASE, clock=clock)
    there = WebhookUrls(store, Keyring([OLD]), BASE, clock=clock)
    assert await here.mid_for("nothing-yet") is None
    made = token_of(await there.url_for("200"))
    assert await here.mid_for(made) is None  # the last read was just now
    clock.now += MISS_RELOAD_SECONDS
    assert await here.mid_for(made) == "200"
    rotated = token_of(await there.url_for("200", rotate=True))
    assert await there.mid_for(made) is None  # on the rotating instance: at once
    assert await here.mid_for(made) == "200"  # elsewhere: until the tokens are read again
    clock.now += LOOKUP_TTL_SECONDS
    assert await here.mid_for(made) is None
    assert await here.mid_for(rotated) == "200"


async def test_a_database_that_cannot_answer_is_not_taken_for_an_unknown_url(
    store: SQLiteStore,
) -> None:
    urls = WebhookUrls(store, Keyring([OLD]), BASE, clock=Clock())
    token = token_of(await urls.url_for("100"))
    fresh = WebhookUrls(store, Keyring([OLD]), BASE, clock=Clock())
    await store.close()
    with pytest.raises(StorageUnavailable):
        await fresh.mid_for(token)
    await store.open()
    assert await fresh.mid_for(token) == "100"  # the failed read left nothing stale behind
