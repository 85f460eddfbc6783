"""How the sync worker settles inbox items: sent (unless a newer state of the subscription was
merged while the batch was in flight: then sent again), retried with the delivery worker's
backoff until MAX_ATTEMPTS, dead with the reason, or held (not counted as an attempt) until a
sign-in or the install. A mixin of SyncWorker, which provides the inbox, owner, clock, random
source, metrics and logger."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from activity.rokt.retry import MAX_ATTEMPTS, backoff
from activity.storage.inbox import Inbox, InboxItem, SubscriptionRow

if TYPE_CHECKING:
    from activity.ops.metrics import Metrics

GAVE_UP = "gave_up"


class SyncOutcomes:
    _inbox: Inbox
    _owner: str
    _clock: Callable[[], float]
    _rand: Callable[[], float]
    _metrics: Metrics | None
    _log: logging.Logger
    rows_synced: int

    def _count(self, outcome: str, n: int) -> None:
        if self._metrics is not None and n:
            self._metrics.sfmc_rows.labels(outcome).inc(n)

    async def _done(
        self, mid: str, rows: list[SubscriptionRow], items_of: dict[str, list[InboxItem]]
    ) -> None:
        if not rows:
            return
        self.rows_synced += len(rows)
        now = self._clock()
        current = await self._inbox.versions(mid, [r.subscription_id for r in rows])
        stale = {r.subscription_id for r in rows if current.get(r.subscription_id, 0) > r.version}
        sent = [
            i.id
            for r in rows
            if r.subscription_id not in stale
            for i in items_of[r.subscription_id]
        ]
        again = [i.id for sub in stale for i in items_of[sub]]
        await self._inbox.mark_sent(sent, now, owner=self._owner)
        self._count("sent", len(sent))
        self._count("retried", len(again))
        # A newer state was merged while this batch was in flight: send that one too.
        await self._inbox.mark_retry(
            again, now, now, "newer state merged meanwhile", owner=self._owner
        )

    async def _hold(self, items: Sequence[InboxItem], why: str) -> None:
        self._log.warning("webhooks held", extra={"count": len(items), "reason": why.split(":")[0]})
        await self._inbox.hold([i.id for i in items], self._clock(), why, owner=self._owner)
        self._count("held", len(items))

    async def _dead(self, items: Sequence[InboxItem], why: str) -> None:
        if items:
            self._log.warning(
                "webhooks dead", extra={"count": len(items), "reason": why.split(":")[0]}
            )
            await self._inbox.mark_dead(
                [i.id for i in items], self._clock(), why, owner=self._owner
            )
            self._count("dead", len(items))

    async def _retry(
        self, items: Sequence[InboxItem], why: str, exc: Exception | None = None
    ) -> None:
        now = self._clock()
        retry_after = getattr(exc, "retry_after", None)
        give_up = [i for i in items if i.attempts >= MAX_ATTEMPTS]
        if give_up:
            await self._dead(give_up, f"{GAVE_UP}: {why}")
        ids = [i.id for i in items if i.attempts < MAX_ATTEMPTS]
        if ids:  # one delay for the batch: it failed as one call
            attempt = max(i.attempts for i in items if i.attempts < MAX_ATTEMPTS)
            delay = backoff(attempt, retry_after, self._rand)
            await self._inbox.mark_retry(ids, now, now + delay, why, owner=self._owner)
            self._count("retried", len(ids))
