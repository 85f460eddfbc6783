"""The delivery worker: claims due outbox items, sends them to Rokt in as few calls as the
API allows, and records each item's outcome (sent, retry later, or dead with a reason).

Items that share (credentials, account code, action, rendered event) form one group: a create
goes out as one call carrying all their subscription IDs (at most MAX_SUBSCRIPTIONS_PER_CALL
per call), update and cancel go out once per group, remove and unsubscribe once per
subscription.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from activity.admin.settings_service import RoktAccount, SettingsService
from activity.errors import RoktError
from activity.rokt.client import RoktClient
from activity.rokt.delivery_groups import Group
from activity.rokt.delivery_sending import DeliverySending
from activity.rokt.marks import MarkWriter
from activity.rokt.outcomes import NOT_CONFIGURED, Outcomes
from activity.rokt.resend import RECHECK_SECONDS, VISIBILITY_WAIT_SECONDS, ResendCheck
from activity.rokt.round_log import RoundTally
from activity.storage.base import Store
from activity.storage.models import OutboxItem
from activity.storage.worker_loop import LeasedWorker

if TYPE_CHECKING:
    from activity.ops.metrics import Metrics

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8  # Rokt calls in flight at once, across all groups
DEPTH_REFRESH_SECONDS = 5.0
ERROR_PAUSE_SECONDS = 1.0


class DeliveryWorker(DeliverySending, LeasedWorker):
    """Under load, executes wake the worker for every contact. Spacing rounds that found work
    (round_interval_seconds) lets contacts arriving together share one Rokt call; after a
    quiet spell the first round starts at once, and a backlog (full rounds) is drained
    without pause (storage/worker_loop.py runs the rounds)."""

    _log = log
    task_name = "delivery-worker"
    what = "delivery"
    leases = "outbox leases"

    def __init__(
        self,
        store: Store,
        settings_service: SettingsService,
        client: RoktClient,
        *,
        metrics: Metrics | None = None,
        owner: str = "local",
        batch_size: int = 500,
        lease_seconds: float = 60.0,
        poll_seconds: float = 1.0,
        round_interval_seconds: float = 0.0,
        concurrency: int = DEFAULT_CONCURRENCY,
        stop_grace_seconds: float = 5.0,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        visibility_wait_seconds: float = VISIBILITY_WAIT_SECONDS,
        recheck_seconds: float = RECHECK_SECONDS,
        check_before_resend: bool = True,  # False only to measure what the check saves
    ) -> None:
        super().__init__(
            owner=owner,
            batch_size=batch_size,
            poll_seconds=poll_seconds,
            round_interval_seconds=round_interval_seconds,
            stop_grace_seconds=stop_grace_seconds,
        )
        self._store = store
        self._settings = settings_service
        self._client = client
        self._metrics = metrics
        self._lease = lease_seconds
        self._calls = asyncio.Semaphore(concurrency)
        self._clock = clock
        self._outcomes = Outcomes(store, metrics, owner=owner, clock=clock, rand=rand)
        self._marks = MarkWriter(store, owner, clock)
        self._resend = ResendCheck(
            client,
            self._outcomes,
            self._calls,
            clock=clock,
            wait_seconds=visibility_wait_seconds,
            recheck_seconds=recheck_seconds,
            enabled=check_before_resend,
        )
        self._depth_at = float("-inf")

    async def _release(self) -> None:
        await self._store.release(self._owner)

    def _error_pause(self) -> float:
        return max(self._poll, ERROR_PAUSE_SECONDS)

    async def _sleep(self, claimed: int) -> bool:
        delay = self._poll
        due = await self._store.next_due_at()
        if due is not None:
            delay = min(delay, due - self._clock())
        if delay <= 0 and not claimed:
            delay = self._poll  # due but not claimable (leased elsewhere): don't spin
        if delay <= 0:
            return False
        try:
            await asyncio.wait_for(self._wakeup.wait(), delay)
        except TimeoutError:
            return False
        return True

    # --- one round --------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim one batch of due items and deliver it; returns how many were claimed."""
        now = self._clock()
        items = await self._store.claim(self._owner, now, self._lease, self._batch_size)
        if items:
            started = time.monotonic()
            tally = self._outcomes.tally = RoundTally()
            tally.claimed(items)
            # Start no new Rokt call after half the lease: the rest waits for the next round
            # rather than risk another instance claiming items we are still sending.
            deadline = now + self._lease / 2
            try:
                groups = await self._group(items)
                results = await asyncio.gather(
                    *(self._deliver(g, deadline) for g in groups), return_exceptions=True
                )
            finally:
                self._outcomes.tally = None
            for result in results:
                if isinstance(result, Exception):
                    log.error("delivering a group failed", exc_info=result)
            tally.emit(time.monotonic() - started)
        await self._refresh_depth(force=bool(items))
        return len(items)

    async def _group(self, items: Sequence[OutboxItem]) -> list[Group]:
        accounts: dict[str, RoktAccount | None] = {}
        groups: dict[tuple[Any, ...], Group] = {}
        for item in items:
            if item.mid not in accounts:
                try:
                    accounts[item.mid] = await self._settings.account_for(item.mid)
                except Exception as exc:
                    error = RoktError(f"cannot read settings: {exc}", reason="settings_unavailable")
                    await self._outcomes.retry([item], error)
                    continue
            account = accounts[item.mid]
            if account is None:
                await self._outcomes.dead(
                    [item], f"{NOT_CONFIGURED}: business unit has no Rokt settings any more"
                )
                continue
            key = (
                account.credentials_key,
                item.account_code,
                item.action,
                item.batch_key,
                item.payload_json,
            )
            group = groups.setdefault(
                key, Group(account, item.account_code, item.action, item.payload)
            )
            group.items.append(item)
        return list(groups.values())

    async def _refresh_depth(self, *, force: bool) -> None:
        now = self._clock()
        if self._metrics is None or (not force and now - self._depth_at < DEPTH_REFRESH_SECONDS):
            return
        self._depth_at = now
        depth = await self._store.outbox_depth(now)
        self._metrics.outbox_depth.set(depth.pending)
        self._metrics.outbox_oldest_age.set(depth.oldest_age_seconds)
