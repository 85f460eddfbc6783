"""How the delivery worker groups claimed items: one group per (credentials, account code,
action, rendered event), and creates packed so each call carries at most
MAX_SUBSCRIPTIONS_PER_CALL subscription IDs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from activity.admin.settings_service import RoktAccount
from activity.rokt.api_requests import MAX_SUBSCRIPTIONS_PER_CALL
from activity.storage.models import OutboxItem


@dataclass
class Group:
    """Items that go to Rokt together: same credentials, account, action and event."""

    account: RoktAccount
    account_code: str
    action: str
    payload: dict[str, Any]
    items: list[OutboxItem] = field(default_factory=list)


def union(items: Sequence[OutboxItem]) -> list[str]:
    """The items' subscription IDs, each once, in order."""
    return list(dict.fromkeys(sub for item in items for sub in item.subscription_ids))


def packs(
    items: Sequence[OutboxItem], limit: int = MAX_SUBSCRIPTIONS_PER_CALL
) -> list[list[OutboxItem]]:
    """Consecutive items whose subscription IDs fit in one create call."""
    result: list[list[OutboxItem]] = []
    current: list[OutboxItem] = []
    subs: set[str] = set()
    for item in items:
        fresh = set(item.subscription_ids) - subs
        if current and len(subs) + len(fresh) > limit:
            result.append(current)
            current, subs, fresh = [], set(), set(item.subscription_ids)
        current.append(item)
        subs |= fresh
    if current:
        result.append(current)
    return result
