"""Access tokens for background work, one per business unit, reused until shortly before
`expires_in` (Marketing Cloud's soft limit is about one token per 20 minutes per client).

Getting one goes through the stored connection (connections.py): a refresh-token connection
rotates and stores its refresh token atomically, a client-credentials connection asks with
the stored secret. A call answered 401 drops the cached token and tries once more with a new
one (`call`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import aiohttp

from activity.errors import SfmcError
from activity.sfmc.connections import ConnectionService
from activity.storage.models import SfmcConnection

T = TypeVar("T")
EARLY_SECONDS = 120.0  # renew this long before Marketing Cloud says the token expires
MIN_LIFETIME = 30.0


class SfmcUnauthorized(SfmcError):
    """Marketing Cloud refused the access token (HTTP 401, or SOAP's "Token Expired")."""

    reason = "sfmc_unauthorized"


@dataclass(frozen=True)
class Access:
    mid: str
    token: str = field(repr=False)
    rest_url: str  # with a trailing slash, as Marketing Cloud gives it
    soap_url: str
    expires_at: float
    connected_at: float = 0.0  # of the connection it came from: a new sign-in is another


class SfmcTokens:
    def __init__(
        self,
        connections: ConnectionService,
        http: aiohttp.ClientSession,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connections = connections
        self._http = http
        self._clock = clock
        self._cache: dict[str, Access] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.grants = 0  # tokens asked for, for tests and the benchmark

    async def get(self, mid: str) -> Access:
        # The stored connection is read each time: a token cached from a connection that was
        # since disconnected, marked for a new sign-in or replaced by one is not used again
        # (on any instance), however long it would still live.
        current = await self._connections.get(mid)
        cached = self._valid(mid, current)
        if cached is not None:
            return cached
        async with self._locks.setdefault(mid, asyncio.Lock()):
            current = await self._connections.get(mid)
            cached = self._valid(mid, current)  # another task may have renewed it meanwhile
            if cached is not None:
                return cached
            self._cache.pop(mid, None)
            tokens = await self._connections.access_token(self._http, mid)
            self.grants += 1
            stored = await self._connections.get(mid)
            rest = tokens.rest_instance_url or (stored.rest_instance_url if stored else "")
            soap = tokens.soap_instance_url or (stored.soap_instance_url if stored else "")
            if not rest or not soap:
                raise SfmcError(
                    "Marketing Cloud named no REST/SOAP instance URL", reason="no_instance_url"
                )
            lifetime = max(MIN_LIFETIME, tokens.expires_in - EARLY_SECONDS)
            access = Access(
                mid, tokens.access_token, _slash(rest), _slash(soap), self._clock() + lifetime,
                stored.connected_at if stored else 0.0,
            )  # fmt: skip
            self._cache[mid] = access
            return access

    def _valid(self, mid: str, current: SfmcConnection | None) -> Access | None:
        cached = self._cache.get(mid)
        if cached is None or cached.expires_at <= self._clock():
            return None
        if current is None or current.needs_signin or current.connected_at != cached.connected_at:
            return None
        return cached

    def forget(self, access: Access) -> None:
        if self._cache.get(access.mid) is access:
            del self._cache[access.mid]

    def forget_all(self) -> None:
        self._cache.clear()

    async def call(self, mid: str, fn: Callable[[Access], Awaitable[T]]) -> T:
        """`fn(access)`; after SfmcUnauthorized, once more with a new token."""
        access = await self.get(mid)
        try:
            return await fn(access)
        except SfmcUnauthorized:
            self.forget(access)
            return await fn(await self.get(mid))


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
