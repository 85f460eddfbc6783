"""The inbox: accepted Rokt webhooks waiting to reach Marketing Cloud.

It is the outbox's twin on the same storage contract: items are accepted durably (deduplicated
on Rokt's eventId), claimed with leases, and end as sent or dead, or wait as held while their
business unit's Marketing Cloud connection needs a new sign-in. Each item carries the changes
one webhook makes to its subscription's row; `merge` folds them into the newest known state of
the subscription (per field, the value with the latest timestamp wins), so the order in which
webhooks arrive or are synced does not matter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from activity.storage.models import DEAD, QUEUED, SENDING, SENT

HELD = "held"
INBOX_STATES = (QUEUED, SENDING, SENT, DEAD, HELD)

# field -> (value, timestamp): a value with a later timestamp replaces an earlier one.
Changes = Mapping[str, tuple[Any, float]]


@dataclass(frozen=True)
class NewWebhook:
    """One subscription webhook to accept: its row changes go to the inbox."""

    mid: str
    webhook_id: str
    event_type: str
    subscription_id: str
    changes: Changes


@dataclass(frozen=True)
class EventActivity:
    """One SubscriptionEvent* webhook, kept for operators."""

    mid: str
    webhook_id: str
    event_id: str
    event_type: str
    subscription_id: str


@dataclass(frozen=True)
class InboxItem:
    id: int
    mid: str
    webhook_id: str
    event_type: str
    subscription_id: str
    changes: Changes
    state: str
    attempts: int
    created_at: float
    last_error: str = ""


@dataclass(frozen=True)
class SubscriptionRow:
    """The merged state of one subscription, as the data extension should hold it."""

    mid: str
    subscription_id: str
    values: dict[str, Any]
    version: int


@dataclass(frozen=True)
class EventCount:
    event_id: str
    event_type: str
    subscribers: int


@dataclass(frozen=True)
class WebhookEndpoint:
    mid: str
    token_hash: str
    token_enc: bytes
    created_at: float


class Inbox(Protocol):
    # The per-business-unit webhook URL token.
    async def put_endpoint(self, endpoint: WebhookEndpoint) -> None: ...

    async def get_endpoint(self, mid: str) -> WebhookEndpoint | None: ...

    async def list_endpoints(self) -> list[WebhookEndpoint]: ...

    async def reencrypt_endpoint(self, mid: str, old: bytes, new: bytes) -> bool:
        """Replace the token's ciphertext if it is still `old` (a URL rotated meanwhile keeps
        its new token); True when changed."""

    # Intake.
    async def accept(self, webhook: NewWebhook, now: float) -> bool:
        """Store durably unless (mid, webhook_id) was seen; True when new."""

    async def record_event(self, activity: EventActivity, now: float) -> bool:
        """Store a SubscriptionEvent* webhook once; True when new."""

    # The sync worker's side: the same lease rules as the outbox.
    async def claim(
        self, owner: str, now: float, lease_seconds: float, limit: int
    ) -> list[InboxItem]: ...

    async def mark_sent(self, ids: Sequence[int], now: float, *, owner: str) -> None: ...

    async def mark_retry(
        self, ids: Sequence[int], now: float, next_attempt_at: float, error: str, *, owner: str
    ) -> None: ...

    async def mark_dead(
        self, ids: Sequence[int], now: float, error: str, *, owner: str
    ) -> None: ...

    async def hold(self, ids: Sequence[int], now: float, why: str, *, owner: str) -> None:
        """Park items until `unhold`: they are not retried and never die."""

    async def unhold(self, mid: str, now: float) -> int:
        """Queue a business unit's held items again; returns how many."""

    async def held_mids(self) -> list[str]: ...

    async def release(self, owner: str) -> None: ...

    async def next_due_at(self) -> float | None: ...

    # Subscription state.
    async def merge(
        self, mid: str, changes: Mapping[str, Sequence[Changes]], now: float
    ) -> list[SubscriptionRow]:
        """Fold changes into each subscription's stored state; returns the merged rows."""

    async def versions(self, mid: str, subscription_ids: Sequence[str]) -> dict[str, int]: ...

    async def prune(self, before: float, limit: int) -> int:
        """Delete up to `limit` finished (sent or dead) items older than `before`."""

    # Operators.
    async def depth(self) -> int:
        """Items not finished yet (queued, being synced or held), all business units."""

    async def counts(self, mid: str | None = None) -> dict[str, int]: ...

    async def recent_dead(self, mid: str | None = None, limit: int = 20) -> list[InboxItem]: ...

    async def event_counts(self, mid: str, limit: int = 50) -> list[EventCount]: ...


def lww_merge(state: dict[str, list[Any]], changes: Changes) -> bool:
    """Apply `changes` to `state` (field -> [value, timestamp]); True when anything changed.

    Per field the later timestamp wins; on a tie the larger JSON text wins, so any order of
    the same changes gives the same state.
    """
    changed = False
    for name, (value, at) in changes.items():
        old = state.get(name)
        if old is None or (at, _order(value)) > (old[1], _order(old[0])):
            state[name] = [value, at]
            changed = True
    return changed


def _order(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def values_of(state: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    return {name: pair[0] for name, pair in state.items()}


def dump_changes(changes: Changes) -> str:
    return json.dumps({k: [v, t] for k, (v, t) in changes.items()}, ensure_ascii=False)


def load_changes(text: str) -> dict[str, tuple[Any, float]]:
    return {k: (v, float(t)) for k, (v, t) in json.loads(text).items()}


def item_from_row(row: Any) -> InboxItem:
    return InboxItem(
        id=int(row["id"]),
        mid=row["mid"],
        webhook_id=row["webhook_id"],
        event_type=row["event_type"],
        subscription_id=row["subscription_id"],
        changes=load_changes(row["changes"]),
        state=row["state"],
        attempts=int(row["attempts"]),
        created_at=float(row["created_at"]),
        last_error=row["last_error"],
    )


def endpoint_from_row(row: Any) -> WebhookEndpoint:
    return WebhookEndpoint(
        row["mid"], row["token_hash"], bytes(row["token_enc"]), float(row["created_at"])
    )
