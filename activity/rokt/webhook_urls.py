"""Each business unit's secret webhook URL: `{public URL}/webhooks/rokt/{token}`.

Rokt signs nothing (marketing-cloud-and-webhooks.md section 1), so the URL itself is the
secret: 256 random bits. The database keeps the token's SHA-256 to find the business unit and
the token encrypted (like client secrets) to show it again on the settings page.

Every business unit's token hash is held in memory (one row per business unit) and read again
at most every LOOKUP_TTL_SECONDS, or after a miss at most every MISS_RELOAD_SECONDS. So a flood
of made-up tokens costs one small query a second, not one each: on SQLite, queries share the
thread that commits Journey Builder's contacts.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Callable

from activity.crypto import Keyring
from activity.storage.base import Store
from activity.storage.inbox import WebhookEndpoint

TOKEN_BYTES = 32
# The tokens read from the database are trusted this long: a URL rotated on another instance
# keeps working here for at most this many seconds (on this instance it stops at once).
LOOKUP_TTL_SECONDS = 30.0
# An unknown token reads the tokens again, but no sooner than this after the last read: a URL
# made on another instance is known here within a second of its first use.
MISS_RELOAD_SECONDS = 1.0
MAX_TOKEN_LENGTH = 100  # anything longer is not one of ours: no database lookup


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class WebhookUrls:
    def __init__(
        self,
        store: Store,
        keyring: Keyring,
        public_base: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._base = public_base.rstrip("/")
        self._clock = clock
        self._mids: dict[str, str] = {}  # token hash -> business unit
        self._read_at = float("-inf")
        self._reading = asyncio.Lock()

    def url_of(self, token: str) -> str:
        return f"{self._base}/webhooks/rokt/{token}"

    async def url_for(self, mid: str, *, rotate: bool = False) -> str:
        """The business unit's URL, made on first use; `rotate` replaces it (the old one
        answers 404 from then on)."""
        found = await self._store.inbox.get_endpoint(mid)
        if found is not None and not rotate:
            return self.url_of(self._keyring.decrypt(found.token_enc))
        token = secrets.token_urlsafe(TOKEN_BYTES)
        await self._store.inbox.put_endpoint(
            WebhookEndpoint(mid, token_hash(token), self._keyring.encrypt(token), self._clock())
        )
        self._read_at = float("-inf")  # the old token: unknown from now on
        return self.url_of(token)

    async def rotate_keys(self) -> int:
        """Re-encrypt every stored token under the keyring's first key, so the settings page
        can still show the URL once the old key is dropped; the URLs themselves stay."""
        changed = 0
        for endpoint in await self._store.inbox.list_endpoints():
            new = self._keyring.rotate(endpoint.token_enc)
            if await self._store.inbox.reencrypt_endpoint(endpoint.mid, endpoint.token_enc, new):
                changed += 1
        return changed

    async def mid_for(self, token: str) -> str | None:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        digest = token_hash(token)
        if self._stale(digest):
            async with self._reading:  # one read at a time; those who waited find it fresh
                if self._stale(digest):
                    read_at = self._clock()
                    endpoints = await self._store.inbox.list_endpoints()  # may fail: 503
                    self._mids = {e.token_hash: e.mid for e in endpoints}
                    self._read_at = read_at
        return self._mids.get(digest)

    def _stale(self, digest: str) -> bool:
        age = self._clock() - self._read_at
        return age >= LOOKUP_TTL_SECONDS or (
            digest not in self._mids and age >= MISS_RELOAD_SECONDS
        )
