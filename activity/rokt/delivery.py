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
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from activity.admin.settings_service import RoktAccount, SettingsService
from activity.errors import RoktError, RoktNotFound, RoktRejected
from activity.rokt.api_requests import (
    CANCEL,
    CREATE,
    MAX_SUBSCRIPTIONS_PER_CALL,
    PER_SUBSCRIPTION,
    REMOVE,
    requests_for,
)
from activity.rokt.client import RoktClient
from activity.rokt.marks import MarkWriter
from activity.rokt.outcomes import NOT_CONFIGURED, NOT_FOUND, Outcomes
from activity.rokt.resend import RECHECK_SECONDS, VISIBILITY_WAIT_SECONDS, ResendCheck
from activity.rokt.round_log import RoundTally, status_label
from activity.storage.base import Store
from activity.storage.models import OutboxItem

if TYPE_CHECKING:
    from aiohttp import web

    from activity.ops.metrics import Metrics

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8  # Rokt calls in flight at once, across all groups
DEPTH_REFRESH_SECONDS = 5.0
ERROR_PAUSE_SECONDS = 1.0
# Answers that can be about single subscriptions in a batch; others (403, 404...) concern
# the whole call, so splitting would only repeat them.
SPLIT_ON = frozenset({400, 422})
# `_send` answers this instead of calling Rokt once half the lease has passed: the items go
# back to the queue untried, so no call starts for items another instance may take over.
NOT_STARTED = RoktError("lease_expired: not sent in this round", reason="lease_expired")
# A 404 to a delete that repeats a try which may have reached Rokt: that try deleted it.
GONE_NOTE = "sent: Rokt answered 404 to a repeat of a try that got no answer; it was already done"


@dataclass
class _Group:
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


class DeliveryWorker:
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
        self._store = store
        self._settings = settings_service
        self._client = client
        self._metrics = metrics
        self._owner = owner
        self._batch_size = batch_size
        self._lease = lease_seconds
        self._poll = poll_seconds
        self._round_interval = round_interval_seconds
        self._calls = asyncio.Semaphore(concurrency)
        self._grace = stop_grace_seconds
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
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._depth_at = float("-inf")

    @classmethod
    def from_app(cls, app: web.Application) -> DeliveryWorker:
        from activity.appkeys import HTTP, METRICS, SETTINGS, SETTINGS_SERVICE, STORE, TOKENS

        settings = app[SETTINGS]
        client = RoktClient(app[HTTP], settings.rokt_api_url, app[TOKENS], app[METRICS])
        return cls(
            app[STORE],
            app[SETTINGS_SERVICE],
            client,
            metrics=app[METRICS],
            owner=settings.delivery_owner,
            batch_size=settings.delivery_batch_size,
            lease_seconds=settings.delivery_lease_seconds,
            poll_seconds=settings.delivery_poll_seconds,
            round_interval_seconds=settings.delivery_round_interval_seconds,
            visibility_wait_seconds=settings.rokt_visibility_wait_seconds,
            recheck_seconds=settings.rokt_recheck_seconds,
        )

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None:
            return
        # Leases this owner held before a restart belong to no running task: resume them now.
        await self._store.release(self._owner)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="delivery-worker")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wakeup.set()
        _, pending = await asyncio.wait({task}, timeout=self._grace)
        if pending:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        try:
            await self._store.release(self._owner)
        except Exception:
            log.exception("could not release outbox leases; they expire on their own")

    def wake(self) -> None:
        """New work was accepted: deliver now instead of at the next poll."""
        self._wakeup.set()

    async def _run(self) -> None:
        last_round, claimed = float("-inf"), 0
        while not self._stopping:
            # Under load, executes wake us for every contact. Spacing rounds that found work lets
            # contacts arriving together share one Rokt call; after a quiet spell the first round
            # starts at once, and a backlog (full rounds) is drained without pause.
            gap = self._round_interval - (time.monotonic() - last_round)
            if gap > 0 and claimed < self._batch_size:
                await asyncio.sleep(gap)
                if self._stopping:
                    break
            self._wakeup.clear()
            round_start = time.monotonic()
            try:
                claimed = await self.run_once()
                if claimed:
                    last_round = round_start
                if claimed < self._batch_size and not self._stopping:
                    await self._sleep(idle=claimed == 0)
            except Exception:
                log.exception("delivery round failed")
                with suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._wakeup.wait(), max(self._poll, ERROR_PAUSE_SECONDS)
                    )

    async def _sleep(self, *, idle: bool) -> None:
        delay = self._poll
        due = await self._store.next_due_at()
        if due is not None:
            delay = min(delay, due - self._clock())
        if delay <= 0 and idle:
            delay = self._poll  # due but not claimable (leased elsewhere): don't spin
        if delay > 0:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), delay)

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

    async def _group(self, items: Sequence[OutboxItem]) -> list[_Group]:
        accounts: dict[str, RoktAccount | None] = {}
        groups: dict[tuple[Any, ...], _Group] = {}
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
                key, _Group(account, item.account_code, item.action, item.payload)
            )
            group.items.append(item)
        return list(groups.values())

    async def _deliver(self, group: _Group, deadline: float) -> None:
        if group.action == CREATE:
            # Items an earlier try may have delivered go out again only where Rokt lacks them.
            event_id = str(group.payload.get("eventId", ""))
            items = await self._resend.to_send(group.account, event_id, group.items)
            await asyncio.gather(*(self._create(group, p, deadline) for p in packs(items)))
        elif group.action in PER_SUBSCRIPTION:
            await self._per_subscription(group, deadline)
        else:  # update and cancel concern the event, not the subscriptions: once per group
            await self._settle(
                group.items,
                await self._send(group, group.action, deadline, group.items),
                group.action,
            )

    async def _create(self, group: _Group, items: list[OutboxItem], deadline: float) -> None:
        error = await self._send(group, CREATE, deadline, items)
        if not isinstance(error, RoktRejected) or error.status not in SPLIT_ON or len(items) == 1:
            await self._settle(items, error, CREATE)
        elif self._clock() >= deadline:
            await self._outcomes.requeue(
                items, "lease_expired: batch split continues in the next round"
            )
        else:  # a 400 on a batch: split it until the bad items stand alone
            half = len(items) // 2
            await asyncio.gather(
                self._create(group, items[:half], deadline),
                self._create(group, items[half:], deadline),
            )

    async def _per_subscription(self, group: _Group, deadline: float) -> None:
        subs = union(group.items)
        if self._clock() < deadline:
            await self._may_reach_rokt(group.items)
        errors = await asyncio.gather(
            *(self._send(group, group.action, deadline, [], [s]) for s in subs)
        )
        by_sub = dict(zip(subs, errors, strict=True))
        outcomes: dict[int, tuple[RoktError | None, list[OutboxItem]]] = {}
        for item in group.items:
            found = [e for e in (by_sub[s] for s in item.subscription_ids) if e is not None]
            rejected = [e for e in found if isinstance(e, RoktRejected)]
            failed = [e for e in found if e is not NOT_STARTED]
            error = (rejected or failed or found or [None])[0]
            outcomes.setdefault(id(error), (error, []))[1].append(item)
        for error, items in outcomes.values():
            await self._settle(items, error, group.action)

    async def _settle(
        self, items: Sequence[OutboxItem], error: RoktError | None, action: str = CREATE
    ) -> None:
        if error is NOT_STARTED:
            await self._outcomes.requeue(items, error.message)
            return
        if isinstance(error, RoktNotFound) and action in (CANCEL, REMOVE):
            # No 404 is documented here (seed 002); a wrong account code answers 404 too. Only
            # a repeat of a try that may have reached Rokt can have found the event gone.
            repeats = [i for i in items if i.maybe_sent_at is not None]
            first = [i for i in items if i.maybe_sent_at is None]
            if repeats:
                await self._outcomes.sent(repeats, GONE_NOTE)
            if first:
                await self._outcomes.dead(first, f"{NOT_FOUND}: {error.message}")
            return
        # A definite refusal (429, 503, a failed token) did nothing at Rokt: the items' marks go
        # back to before this call. Not for remove: its other subscriptions' calls may have
        # worked.
        definite = error is not None and not error.maybe_delivered
        if definite and action not in PER_SUBSCRIPTION and not isinstance(error, RoktRejected):
            await self._outcomes.forget_maybe_sent(items)
        await self._outcomes.settle(items, error)

    async def _may_reach_rokt(self, items: Sequence[OutboxItem]) -> None:
        """Written before the call: a crash or a lost answer leaves the mark behind."""
        await self._marks.mark([i.id for i in items])

    async def _send(
        self,
        group: _Group,
        action: str,
        deadline: float,
        items: Sequence[OutboxItem],
        subs: Sequence[str] | None = None,
    ) -> RoktError | None:
        """Send the requests for `items` (or `subs`); the first error, or None when all passed.

        NOT_STARTED when the first call would start after `deadline`.
        """
        try:
            requests = requests_for(
                action, group.account_code, group.payload, union(items) if subs is None else subs
            )
        except (KeyError, ValueError) as exc:
            return RoktRejected(f"cannot build the Rokt request: {exc}")
        tally, first = self._outcomes.tally, group.items[0]
        for n, request in enumerate(requests):
            try:
                async with self._calls:
                    if n == 0 and self._clock() >= deadline:
                        return NOT_STARTED
                    if n == 0 and subs is None:
                        await self._may_reach_rokt(items)
                    status = await self._client.send(group.account, request)
            except RoktError as exc:
                if tally is not None:
                    tally.answered(first, status_label(None, exc))
                return exc
            if tally is not None:
                tally.answered(first, status_label(status))
        return None

    async def _refresh_depth(self, *, force: bool) -> None:
        now = self._clock()
        if self._metrics is None or (not force and now - self._depth_at < DEPTH_REFRESH_SECONDS):
            return
        self._depth_at = now
        depth = await self._store.outbox_depth(now)
        self._metrics.outbox_depth.set(depth.pending)
        self._metrics.outbox_oldest_age.set(depth.oldest_age_seconds)
