"""A business unit's Marketing Cloud connection: stored at sign-in, refreshed for background
work, disconnected from the settings page.

The refresh token is encrypted with the service's keyring, like the Rokt client secret.
Marketing Cloud rotates refresh tokens, so every refresh stores the new one, and only if the
stored one is still the one that was used (two instances refreshing at once: one wins, the
other reads the winner's). A refused refresh (invalid_grant) marks the connection as needing
a new sign-in.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp

from activity.config import ConfigError, Settings
from activity.crypto import Keyring
from activity.errors import SfmcError, SfmcGrantRefused
from activity.sfmc import oauth
from activity.sfmc.oauth import TokenSet, UserInfo
from activity.storage.base import Store
from activity.storage.models import CLIENT_CREDENTIALS_GRANT, REFRESH_TOKEN_GRANT, SfmcConnection

RACE_CHECKS = 5
RACE_PAUSE_SECONDS = 0.2
NEEDS_SIGNIN_WHY = "Marketing Cloud refused the stored sign-in (invalid_grant)"
UNREADABLE = "unreadable_secret"
UNREADABLE_WHY = (
    "the stored Marketing Cloud secret cannot be decrypted with ACTIVITY_ENCRYPTION_KEY "
    "(an old key was removed): sign in again"
)


class ConnectionService:
    def __init__(
        self,
        store: Store,
        keyring: Keyring,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        race_pause: float = RACE_PAUSE_SECONDS,
    ) -> None:
        self._race_pause = race_pause
        self._store = store
        self._keyring = keyring
        self._settings = settings
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, mid: str) -> SfmcConnection | None:
        return await self._store.get_sfmc_connection(mid)

    async def save_sign_in(
        self, info: UserInfo, tokens: TokenSet, *, tssd: str, auth_url: str
    ) -> SfmcConnection | None:
        """Store the business unit's connection from an SSO sign-in. Without a refresh token
        (the offline scope not granted) nothing is stored and None is returned."""
        if not tokens.refresh_token:
            return None
        now = self._clock()
        connection = SfmcConnection(
            mid=info.mid,
            grant_type=REFRESH_TOKEN_GRANT,
            client_id=self._settings.sfmc_client_id,
            secret_token=self._keyring.encrypt(tokens.refresh_token),
            auth_url=auth_url,
            connected_at=now,
            updated_at=now,
            enterprise_id=info.enterprise_id,
            tssd=tssd,
            rest_instance_url=tokens.rest_instance_url,
            soap_instance_url=tokens.soap_instance_url,
            scope=tokens.scope,
            user_id=info.user_id,
            user_email=info.email,
        )
        await self._store.put_sfmc_connection(connection)
        return connection

    async def rotate_keys(self) -> int:
        """Re-encrypt every stored connection secret under the keyring's first key."""
        changed = 0
        for connection in await self._store.list_sfmc_connections():
            new = self._keyring.rotate(connection.secret_token)
            if await self._store.reencrypt_sfmc_secret(
                connection.mid, connection.secret_token, new
            ):
                changed += 1
        return changed

    async def disconnect(self, mid: str) -> bool:
        return await self._store.delete_sfmc_connection(mid)

    async def access_token(self, http: aiohttp.ClientSession, mid: str) -> TokenSet:
        """A fresh access token for the business unit's stored connection.

        Raises SfmcError (reason "not_connected") without a connection, SfmcGrantRefused when
        Marketing Cloud refuses the stored grant (the connection is then marked as needing a
        new sign-in), SfmcUnavailable when it cannot be reached (try later).
        Callers cache the access token until shortly before `expires_in`.
        """
        lock = self._locks.setdefault(mid, asyncio.Lock())
        async with lock:
            connection = await self._store.get_sfmc_connection(mid)
            if connection is None:
                raise SfmcError("no Marketing Cloud connection", reason="not_connected")
            if connection.needs_signin:
                raise SfmcGrantRefused(NEEDS_SIGNIN_WHY, error="invalid_grant")
            try:
                secret = self._keyring.decrypt(connection.secret_token)
            except ConfigError:
                # Stored under a key ACTIVITY_ENCRYPTION_KEY no longer holds: only a new
                # sign-in (or `sfmc connect`) stores a secret this service can read.
                await self._store.mark_sfmc_needs_signin(mid, UNREADABLE, self._clock())
                raise SfmcGrantRefused(UNREADABLE_WHY, error=UNREADABLE) from None
            if connection.grant_type == CLIENT_CREDENTIALS_GRANT:
                return await oauth.client_credentials(
                    http,
                    connection.auth_url,
                    client_id=connection.client_id,
                    client_secret=secret,
                    account_id=connection.mid,
                )
            return await self._refresh(http, connection, secret)

    async def _refresh(
        self, http: aiohttp.ClientSession, connection: SfmcConnection, refresh_token: str
    ) -> TokenSet:
        try:
            tokens = await oauth.refresh(
                http,
                connection.auth_url,
                client_id=connection.client_id,
                client_secret=self._settings.sfmc_client_secret,
                refresh_token=refresh_token,
            )
        except SfmcGrantRefused:
            current = await self._rotated_elsewhere(connection)
            if current is not None:
                # Another instance refreshed first and stored the rotated token: use that.
                secret = self._keyring.decrypt(current.secret_token)
                return await self._refresh(http, current, secret)
            await self._store.mark_sfmc_needs_signin(connection.mid, "invalid_grant", self._clock())
            raise
        if tokens.refresh_token and tokens.refresh_token != refresh_token:
            # Stored before anything else: this rotated token is now the only one that works.
            new = self._keyring.encrypt(tokens.refresh_token)
            await self._store.rotate_sfmc_secret(
                connection.mid, connection.secret_token, new, self._clock()
            )
        return tokens

    async def _rotated_elsewhere(self, used: SfmcConnection) -> SfmcConnection | None:
        """After invalid_grant: did another instance rotate the token meanwhile? It may still
        be between Marketing Cloud's answer and its write, so look a few times."""
        for attempt in range(RACE_CHECKS):
            current = await self._store.get_sfmc_connection(used.mid)
            if current is None:
                return None
            if current.secret_token != used.secret_token:
                return current
            if attempt + 1 < RACE_CHECKS:
                await asyncio.sleep(self._race_pause)
        return None
