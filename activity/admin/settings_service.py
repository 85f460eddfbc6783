"""Business-unit Rokt settings: lookup by MID (then enterprise), encryption, audit."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cachetools import TTLCache

from activity.crypto import Keyring
from activity.storage.base import Store
from activity.storage.models import AuditEntry, StoredSettings

# Other instances see a settings change within this many seconds.
LOOKUP_TTL_SECONDS = 30.0


@dataclass(frozen=True)
class RoktAccount:
    """Decrypted credentials, held in memory only while delivering."""

    mid: str
    account_code: str
    client_id: str
    client_secret: str = field(repr=False)
    account_id: str = ""

    @property
    def credentials_key(self) -> tuple[str, str]:
        return (self.account_code, self.client_id)


@dataclass(frozen=True)
class Actor:
    user_id: str = "cli"
    email: str = ""


class SettingsService:
    def __init__(
        self, store: Store, keyring: Keyring, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._clock = clock
        self._cache: TTLCache[tuple[str, str], StoredSettings | None] = TTLCache(
            maxsize=4096, ttl=LOOKUP_TTL_SECONDS, timer=clock
        )

    async def find(self, mid: str, eid: str = "") -> StoredSettings | None:
        """The settings that serve this business unit: its own, else its enterprise's."""
        return await self._lookup(mid, eid)

    async def _lookup(self, mid: str, eid: str) -> StoredSettings | None:
        key = (mid, eid)
        if key in self._cache:
            return self._cache[key]
        found: StoredSettings | None = None
        if mid:
            found = await self._store.get_settings(mid)
        if found is None and eid:
            # Only the explicitly marked default: a parent business unit's own settings stored
            # under the EID as its MID belong to that unit, never to its children.
            found = await self._store.get_enterprise_default(eid)
        self._cache[key] = found
        return found

    async def is_configured(self, mid: str, eid: str = "") -> bool:
        return await self._lookup(mid, eid) is not None

    async def account_for(self, mid: str, eid: str = "") -> RoktAccount | None:
        found = await self._lookup(mid, eid)
        if found is None:
            return None
        return RoktAccount(
            mid=found.mid,
            account_code=found.account_code,
            client_id=found.client_id,
            client_secret=self._keyring.decrypt(found.secret_token),
            account_id=found.account_id,
        )

    async def get(self, mid: str) -> StoredSettings | None:
        return await self._store.get_settings(mid)

    async def all_settings(self) -> list[StoredSettings]:
        return await self._store.list_settings()

    async def save(
        self,
        *,
        mid: str,
        account_code: str,
        client_id: str,
        client_secret: str | None,
        actor: Actor,
        account_id: str = "",
        enterprise_id: str = "",
        is_enterprise_default: bool = False,
        calendar_ids: tuple[str, ...] | None = None,
    ) -> StoredSettings:
        """Create or update; `client_secret=None` keeps the stored secret, `calendar_ids=None`
        the stored calendar IDs."""
        existing = await self._store.get_settings(mid)
        if calendar_ids is None:
            calendar_ids = existing.calendar_ids if existing is not None else ()
        if client_secret is None:
            if existing is None:
                raise ValueError("a client secret is required for new settings")
            token = existing.secret_token
        else:
            token = self._keyring.encrypt(client_secret)
        now = self._clock()
        stored = StoredSettings(
            mid=mid,
            account_code=account_code,
            client_id=client_id,
            secret_token=token,
            account_id=account_id,
            enterprise_id=enterprise_id,
            is_enterprise_default=is_enterprise_default,
            updated_at=now,
            updated_by=actor.email or actor.user_id,
            calendar_ids=calendar_ids,
        )
        changes = _describe_changes(existing, stored, secret_changed=client_secret is not None)
        await self._store.put_settings(
            stored,
            AuditEntry(mid, now, actor.user_id, actor.email, "save", changes),
        )
        self._cache.clear()
        return stored

    async def delete(self, mid: str, actor: Actor) -> bool:
        now = self._clock()
        deleted = await self._store.delete_settings(
            mid, AuditEntry(mid, now, actor.user_id, actor.email, "delete", "settings deleted")
        )
        self._cache.clear()
        return deleted

    async def audit_log(self, mid: str, limit: int = 50) -> list[AuditEntry]:
        return await self._store.audit_log(mid, limit)

    async def rotate_keys(self) -> int:
        """Re-encrypt every stored secret under the first key."""
        tokens = {s.mid: self._keyring.rotate(s.secret_token) for s in await self.all_settings()}
        changed = await self._store.replace_secrets(tokens)
        self._cache.clear()
        return changed


def _describe_changes(
    before: StoredSettings | None, after: StoredSettings, *, secret_changed: bool
) -> str:
    """Human-readable change list; never includes the secret's value."""
    if before is None:
        parts = [f"created (account code {after.account_code}, client ID {after.client_id})"]
    else:
        parts = []
        for label, old, new in (
            ("account code", before.account_code, after.account_code),
            ("account ID", before.account_id, after.account_id),
            ("client ID", before.client_id, after.client_id),
            ("enterprise default", before.is_enterprise_default, after.is_enterprise_default),
            ("calendar IDs", ", ".join(before.calendar_ids), ", ".join(after.calendar_ids)),
        ):
            if old != new:
                parts.append(f"{label}: {old or '(empty)'} → {new or '(empty)'}")
    if secret_changed and before is not None:
        parts.append("client secret replaced")
    return "; ".join(parts) or "no change"
