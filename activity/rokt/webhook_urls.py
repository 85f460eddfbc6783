"""Each business unit's secret webhook URL: `{public URL}/webhooks/rokt/{token}`.

Rokt signs nothing (marketing-cloud-and-webhooks.md section 1), so the URL itself is the
secret: 256 random bits. The database keeps the token's SHA-256 to find the business unit and
the token encrypted (like client secrets) to show it again on the settings page.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable

from cachetools import TTLCache

from activity.crypto import Keyring
from activity.storage.base import Store
from activity.storage.inbox import WebhookEndpoint

TOKEN_BYTES = 32
# A known token's business unit is remembered this long: a URL rotated on another instance
# keeps working here for at most this many seconds (on this instance it stops at once).
LOOKUP_TTL_SECONDS = 30.0
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
        self._known: TTLCache[str, str] = TTLCache(4096, LOOKUP_TTL_SECONDS, timer=clock)

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
        self._known.clear()  # the old token: unknown from now on
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
        mid = self._known.get(digest)
        if mid is None:
            mid = await self._store.inbox.mid_for_token(digest)
            if mid is not None:
                self._known[digest] = mid
        return mid
