"""One info line per delivery round and Rokt account: what was claimed, what Rokt answered,
what became of the items, and how long the round took.

Successful deliveries otherwise log nothing, and an operator needs to see work moving."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from activity.errors import RoktError
from activity.storage.models import OutboxItem

log = logging.getLogger("activity.rokt.delivery")

Key = tuple[str, str, str]  # (MID, Rokt account code, action)


def status_label(status: int | None, error: RoktError | None = None) -> str:
    """An HTTP status, or why there was none (timeout, unreachable, not started)."""
    if status is not None:
        return str(status)
    if error is not None and error.status is not None:
        return str(error.status)
    return error.reason if error is not None else "ok"


@dataclass
class _Account:
    items: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)


@dataclass
class RoundTally:
    accounts: dict[Key, _Account] = field(default_factory=dict)

    def claimed(self, items: Iterable[OutboxItem]) -> None:
        for item in items:
            self._account(item).items += 1

    def outcome(self, outcome: str, items: Sequence[OutboxItem]) -> None:
        for item in items:
            self._account(item).outcomes[outcome] += 1

    def answered(self, item: OutboxItem, label: str) -> None:
        self._account(item).statuses[label] += 1

    def _account(self, item: OutboxItem) -> _Account:
        key = (item.mid, item.account_code, item.action)
        found = self.accounts.get(key)
        if found is None:
            found = self.accounts[key] = _Account()
        return found

    def emit(self, seconds: float) -> None:
        for (mid, account, action), seen in self.accounts.items():
            statuses = ",".join(f"{s}x{n}" for s, n in sorted(seen.statuses.items()))
            log.info(
                "Rokt delivery round: %d item(s) for %s %s, Rokt answered %s",
                seen.items,
                account,
                action,
                statuses or "nothing (no call made)",
                extra={
                    "mid": mid,
                    "account": account,
                    "action": action,
                    "items": seen.items,
                    "sent": seen.outcomes["sent"],
                    "retried": seen.outcomes["retry"],
                    "dead": seen.outcomes["dead"],
                    "rokt_status": statuses,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
