"""WebhookUrls: each business unit's secret Rokt webhook URL, its lookup and key rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from activity.config import ConfigError
from activity.crypto import Keyring
from activity.rokt.webhook_urls import MAX_TOKEN_LENGTH, WebhookUrls, token_hash
from activity.storage.sqlite import SQLiteStore

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
