"""What happened to outbox items after a Rokt call: sent, retry later, or dead with a reason.

Dead reasons start with a machine-readable prefix so operators can filter and act on them.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from activity.errors import RoktAuthFailed, RoktError, RoktRejected
from activity.rokt.retry import MAX_ATTEMPTS, backoff
from activity.rokt.round_log import RoundTally
from activity.storage.base import Store
from activity.storage.models import OutboxItem

if TYPE_CHECKING:
    from activity.ops.metrics import Metrics

log = logging.getLogger("activity.rokt.delivery")

REJECTED = "rejected"  # Rokt refused the item itself (4xx): fix the data or the activity
NOT_CONFIGURED = "not_configured"  # the business unit's Rokt settings were deleted
AUTH_FAILED = "auth_failed"  # Rokt refused the credentials until we gave up: fix the settings
GAVE_UP = "gave_up"  # Rokt stayed unreachable or failing for MAX_ATTEMPTS attempts
NOT_FOUND = "not_found"  # 404 on a first cancel or remove: wrong account code, or no such event
DEAD_PREFIXES = (REJECTED, NOT_CONFIGURED, AUTH_FAILED, GAVE_UP, NOT_FOUND)
MAX_LOGGED_IDS = 5


def log_ids(items: Sequence[OutboxItem]) -> dict[str, str]:
    """The journeys and activities of `items` for a log line (a batch may span a few)."""

    def distinct(values: Sequence[str]) -> str:
        found = list(dict.fromkeys(v for v in values if v))
        more = f",+{len(found) - MAX_LOGGED_IDS}" if len(found) > MAX_LOGGED_IDS else ""
        return ",".join(found[:MAX_LOGGED_IDS]) + more

    return {
        "journey_id": distinct([i.journey_id for i in items]),
        "activity_id": distinct([i.activity_id for i in items]),
    }


class Outcomes:
    def __init__(
        self,
        store: Store,
        metrics: Metrics | None = None,
        *,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        # With an owner, an item whose lease another instance took over is left to it.
        self._owner = owner
        self._metrics = metrics
        self._clock = clock
        self._rand = rand
        # The delivery round under way, when one is being logged.
        self.tally: RoundTally | None = None

    async def settle(self, items: Sequence[OutboxItem], error: RoktError | None) -> None:
        """Record the result of the call that carried `items` (None: Rokt accepted it)."""
        if error is None:
            await self._store.mark_sent([i.id for i in items], self._clock(), owner=self._owner)
            self._count("sent", items)
        elif isinstance(error, RoktRejected):
            await self.dead(items, f"{REJECTED}: {error.message}")
        else:
            await self.retry(items, error)

    async def sent(self, items: Sequence[OutboxItem], note: str) -> None:
        """Done, although not by a plain 2xx: `note` says how we know."""
        await self._store.mark_sent(
            [i.id for i in items], self._clock(), owner=self._owner, note=note
        )
        self._count("sent", items)
        log.info(
            "Rokt delivery recorded as sent: %s",
            note,
            extra={"count": len(items), "mid": items[0].mid, "endpoint": items[0].action},
        )

    async def wait(self, items: Sequence[OutboxItem], until: float, why: str) -> None:
        """Look at these items again at `until` (their attempt counts)."""
        await self._store.mark_retry(
            [i.id for i in items], self._clock(), until, why, owner=self._owner
        )
        self._count("retry", items)

    async def forget_maybe_sent(self, items: Sequence[OutboxItem]) -> None:
        """The call just made was answered and not acted on: each item's marker goes back to
        what it was before that call (an even earlier unanswered try still counts)."""
        by_before: dict[float | None, list[int]] = {}
        for item in items:
            by_before.setdefault(item.maybe_sent_at, []).append(item.id)
        for before, ids in by_before.items():
            await self._store.mark_maybe_sent(ids, before, owner=self._owner)

    async def retry(self, items: Sequence[OutboxItem], error: RoktError) -> None:
        """Back off and try again; items that used their last attempt end as dead."""
        spent = [i for i in items if i.attempts >= MAX_ATTEMPTS]
        if spent:
            prefix = AUTH_FAILED if isinstance(error, RoktAuthFailed) else GAVE_UP
            attempts = max(i.attempts for i in spent)
            await self.dead(spent, f"{prefix}: after {attempts} attempts: {error.message}")
        rest = [i for i in items if i.attempts < MAX_ATTEMPTS]
        if not rest:
            return
        now = self._clock()
        attempt = max(i.attempts for i in rest)
        # One wait for the whole batch keeps its items together for the next call.
        wait = backoff(attempt, error.retry_after, self._rand)
        await self._store.mark_retry(
            [i.id for i in rest],
            now,
            now + wait,
            f"{error.reason}: {error.message}",
            owner=self._owner,
        )
        self._count("retry", rest)
        log.info(
            "Rokt delivery will be retried in %.1f s: %s",
            wait,
            error.message,
            extra={
                "count": len(rest),
                "attempt": attempt,
                "reason": error.reason,
                "mid": rest[0].mid,
                "endpoint": rest[0].action,
                **log_ids(rest),
            },
        )

    async def requeue(self, items: Sequence[OutboxItem], why: str) -> None:
        """Due again at once: the items were not tried (this round ran out of lease), so
        their attempt is not counted towards giving up."""
        await self._store.give_back([i.id for i in items], self._clock(), why, owner=self._owner)
        self._count("retry", items)

    async def dead(self, items: Sequence[OutboxItem], reason: str) -> None:
        await self._store.mark_dead([i.id for i in items], self._clock(), reason, owner=self._owner)
        self._count("dead", items)
        # One line per item: each is a contact that will not reach Rokt, and the operator
        # looks for it by its item, event, journey or activity.
        for item in items:
            log.warning(
                "Rokt delivery gave up: %s",
                reason,
                extra={
                    "count": 1,
                    "reason": reason.partition(":")[0],
                    "mid": item.mid,
                    "endpoint": item.action,
                    "outcome": "dead",
                    "item_id": item.id,
                    "event_id": item.event_id,
                    "attempt": item.attempts,
                    "journey_id": item.journey_id,
                    "activity_id": item.activity_id,
                },
            )

    def _count(self, outcome: str, items: Sequence[OutboxItem]) -> None:
        if self.tally is not None:
            self.tally.outcome(outcome, items)
        if self._metrics is not None and items:
            self._metrics.deliveries.labels(outcome=outcome).inc(len(items))
