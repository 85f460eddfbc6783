"""The storage interface. Nothing above this layer knows which backend runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from activity.storage.delivery_views import (
    JourneyName,
    OutcomeBucket,
    RetryingItem,
    RetrySummary,
)
from activity.storage.inbox import Inbox
from activity.storage.models import (
    ActivityStats,
    Answer,
    AuditEntry,
    DeadItem,
    DeliveryCount,
    LifecycleCall,
    LifecycleRecord,
    NewItem,
    OutboxDepth,
    OutboxItem,
    SessionRecord,
    SfmcConnection,
    SsoState,
    StoredSettings,
)


class Store(Protocol):
    # Rokt webhooks waiting for Marketing Cloud (the outbox's twin; see storage/inbox.py).
    inbox: Inbox

    async def open(self) -> None:
        """Connect and apply pending schema migrations (under a lock)."""

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""

    async def probe_write(self, now: float) -> None:
        """Commit one tiny write; raise StorageUnavailable if the database cannot take it."""

    # Settings, one row per business unit (MID); secrets stay encrypted.
    async def get_settings(self, mid: str) -> StoredSettings | None: ...

    async def get_enterprise_default(self, enterprise_id: str) -> StoredSettings | None: ...

    async def list_settings(self) -> list[StoredSettings]: ...

    async def put_settings(self, settings: StoredSettings, audit: AuditEntry) -> None: ...

    async def delete_settings(self, mid: str, audit: AuditEntry) -> bool: ...

    async def replace_secrets(self, tokens: dict[str, bytes]) -> int:
        """Store re-encrypted secrets by MID (key rotation); returns rows changed."""

    async def audit_log(self, mid: str, limit: int = 50) -> list[AuditEntry]: ...

    async def add_audit_entry(self, audit: AuditEntry) -> None:
        """Record an admin action that is not a settings change (e.g. an install)."""

    # Lifecycle calls: one row per (route, activity, journey version), counted on repeat.
    async def record_lifecycle(self, call: LifecycleCall) -> None: ...

    async def list_lifecycle(self, limit: int = 200) -> list[LifecycleRecord]: ...

    # Execute: idempotent, durable accept.
    async def accept(
        self,
        activity_id: str,
        definition_instance_id: str,
        answer: Answer,
        items: Sequence[NewItem],
        now: float,
        *,
        mid: str | None = None,
    ) -> tuple[Answer, bool]:
        """Commit `answer` and `items` unless this key was seen before.

        `mid` is the business unit the answer was given for (None when the call named none
        usable); the running views count answers per business unit by it.

        Returns the answer on record and whether it is new. Once this returns, the work is
        on disk. A repeat returns the first answer and enqueues nothing.
        """

    async def find_answer(self, activity_id: str, definition_instance_id: str) -> Answer | None:
        """The answer on record for this key, or None; reads only (subscribe checks it before
        calling Rokt, so a JB retry calls Rokt no second time)."""

    # Outbox.
    async def claim(
        self, owner: str, now: float, lease_seconds: float, limit: int
    ) -> list[OutboxItem]:
        """Lease due items (queued and due, or sending with an expired lease)."""

    # `owner`, when given, limits mark_* to items still leased by that owner: a worker whose
    # lease ran out (and whose items another instance took over) changes nothing.
    async def mark_sent(
        self, ids: Sequence[int], now: float, *, owner: str | None = None, note: str = ""
    ) -> None:
        """Sent; `note` (kept as the item's last error text) says how we know, when the
        answer was not a plain 2xx."""

    async def mark_maybe_sent(
        self, ids: Sequence[int], at: float | None, *, owner: str | None = None
    ) -> None:
        """Set (or, with None, clear) when the latest call that may have reached Rokt for
        these items started. Written before the call, so a crash mid-call leaves it."""

    async def mark_retry(
        self,
        ids: Sequence[int],
        now: float,
        next_attempt_at: float,
        error: str,
        *,
        owner: str | None = None,
    ) -> None: ...

    async def mark_dead(
        self, ids: Sequence[int], now: float, error: str, *, owner: str | None = None
    ) -> None: ...

    async def give_back(
        self, ids: Sequence[int], now: float, why: str, *, owner: str | None = None
    ) -> None:
        """Claimed but never tried: due again at once, and the claim's attempt not counted."""

    async def release(self, owner: str) -> None:
        """Give back this owner's leases (clean shutdown), their attempts not counted."""

    async def next_due_at(self) -> float | None:
        """When the earliest queued item becomes due, or None when nothing waits."""

    async def delivery_counts(self, mid: str | None = None) -> list[DeliveryCount]: ...

    async def recent_dead(self, mid: str | None = None, limit: int = 20) -> list[DeadItem]: ...

    async def deliveries_over_time(
        self, mid: str | None, since: float, bucket_seconds: int
    ) -> list[tuple[float, int]]:
        """(bucket start, items sent) pairs, oldest first."""

    async def outbox_depth(self, now: float) -> OutboxDepth: ...

    async def prune(self, before: float, limit: int) -> int:
        """Delete up to `limit` execute answers and up to `limit` finished (sent or dead)
        outbox items older than `before`; returns how many rows went."""

    # For operators (migration 0007). Waiting for a retry: queued after a failed attempt.
    async def retrying_items(self, mid: str | None, limit: int = 20) -> list[RetryingItem]:
        """Items waiting for a retry, the soonest due first."""

    async def retry_summary(self, mid: str | None) -> list[RetrySummary]:
        """Per journey and activity: items waiting for a retry, their highest attempt count,
        the soonest next attempt and the latest error."""

    async def outcomes_over_time(
        self, mid: str | None, since: float, bucket_seconds: int
    ) -> list[OutcomeBucket]:
        """Per bucket since `since` (multiples of bucket_seconds, itself a multiple of
        STATS_BUCKET_SECONDS): items sent, failed attempts put back for a retry, items dead."""

    async def put_journey_name(self, journey: JourneyName) -> None: ...

    async def journey_names(self, journey_ids: Sequence[str]) -> dict[str, JourneyName]: ...

    # Admin sessions (migration 0003), found by the SHA-256 of the cookie's id.
    async def create_session(self, record: SessionRecord) -> None:
        """Store a new session (and forget expired ones)."""

    async def get_session(self, id_hash: str, now: float) -> SessionRecord | None:
        """The session, unless it is unknown, ended or expired at `now`."""

    async def delete_session(self, id_hash: str) -> bool: ...

    async def set_session_flash(self, id_hash: str, message: str) -> None: ...

    async def pop_session_flash(self, id_hash: str) -> str:
        """The one-time notice, once; "" afterwards."""

    # OAuth sign-in states: single use.
    async def put_sso_state(self, state: SsoState) -> None: ...

    async def take_sso_state(self, state_hash: str, now: float) -> SsoState | None:
        """Remove the state and return it unless it had expired; None when unknown or used."""

    async def use_jti(self, jti: str, expires_at: float, now: float) -> bool:
        """Record a legacy login token's id until `expires_at`; False if it was used before."""

    # Marketing Cloud connections, one per business unit; secrets stay encrypted.
    async def get_sfmc_connection(self, mid: str) -> SfmcConnection | None: ...

    async def list_sfmc_connections(self) -> list[SfmcConnection]: ...

    async def put_sfmc_connection(self, connection: SfmcConnection) -> None:
        """Insert or replace the business unit's connection."""

    async def delete_sfmc_connection(self, mid: str) -> bool: ...

    async def rotate_sfmc_secret(self, mid: str, old: bytes, new: bytes, now: float) -> bool:
        """Replace the encrypted secret only if it is still `old` (two refreshes racing: the
        loser learns it lost) and clear `needs_signin`; False when nothing changed."""

    async def reencrypt_sfmc_secret(self, mid: str, old: bytes, new: bytes) -> bool:
        """Key rotation: the same secret under another key, only if it is still `old`;
        nothing else about the connection changes."""

    async def mark_sfmc_needs_signin(self, mid: str, why: str, now: float) -> bool:
        """Marketing Cloud refused the stored grant (invalid_grant): an admin must sign in."""

    # The running-journey hover and modal: one activity of one business unit.
    async def activity_stats(self, mid: str, activity_id: str) -> ActivityStats: ...

    async def dead_of_activity(self, mid: str, activity_id: str, limit: int) -> list[DeadItem]: ...

    async def requeue_dead(self, mid: str, activity_id: str, now: float, audit: AuditEntry) -> int:
        """Dead items of this activity become due now with a fresh attempt count; the audit
        entry is written in the same transaction. Returns how many were re-queued."""
