"""How one group of claimed items goes to Rokt: a create per pack of subscriptions (a 400 on a
batch is split until the bad items stand alone), update and cancel once per group, remove and
unsubscribe once per subscription; then each item's outcome. A mixin of DeliveryWorker, which
owns the state named below."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from activity.errors import RoktError, RoktNotFound, RoktRejected
from activity.rokt.api_requests import CANCEL, CREATE, PER_SUBSCRIPTION, REMOVE, requests_for
from activity.rokt.client import RoktClient
from activity.rokt.delivery_groups import Group, packs, union
from activity.rokt.marks import MarkWriter
from activity.rokt.outcomes import NOT_FOUND, Outcomes
from activity.rokt.resend import ResendCheck
from activity.rokt.round_log import status_label
from activity.storage.base import Store
from activity.storage.models import OutboxItem

# Answers that can be about single subscriptions in a batch; others (403, 404...) concern
# the whole call, so splitting would only repeat them.
SPLIT_ON = frozenset({400, 422})
# `_send` answers this instead of calling Rokt once half the lease has passed: the items go
# back to the queue untried, so no call starts for items another instance may take over.
NOT_STARTED = RoktError("lease_expired: not sent in this round", reason="lease_expired")
# A 404 to a delete that repeats a try which may have reached Rokt: that try deleted it.
GONE_NOTE = "sent: Rokt answered 404 to a repeat of a try that got no answer; it was already done"


class DeliverySending:
    _store: Store
    _client: RoktClient
    _owner: str
    _calls: asyncio.Semaphore
    _clock: Callable[[], float]
    _outcomes: Outcomes
    _resend: ResendCheck
    _marks: MarkWriter

    async def _deliver(self, group: Group, deadline: float) -> None:
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

    async def _create(self, group: Group, items: list[OutboxItem], deadline: float) -> None:
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

    async def _per_subscription(self, group: Group, deadline: float) -> None:
        subs = union(group.items)
        if self._clock() < deadline:
            try:
                await self._client.authorize(group.account)
            except RoktError as exc:  # nothing can reach Rokt without a token: all retry
                await self._settle(group.items, exc, group.action)
                return
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
        """Written before the call: a crash or a lost answer leaves the mark behind. Callers
        get the token first: a mark left by a crash during a grant that never reached the
        calendar API would hold the items back for the whole resend wait."""
        await self._marks.mark([i.id for i in items])

    async def _send(
        self,
        group: Group,
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
                        await self._client.authorize(group.account)
                        await self._may_reach_rokt(items)
                    status = await self._client.send(group.account, request)
            except RoktError as exc:
                if tally is not None:
                    tally.answered(first, status_label(None, exc))
                return exc
            if tally is not None:
                tally.answered(first, status_label(status))
        return None
