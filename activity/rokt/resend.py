"""Before a create goes out again after a try whose outcome we never learned, ask Rokt.

A timeout, a dropped connection, a 5xx or a crash mid-call leaves an item's `maybe_sent_at`
set: that call may have reached Rokt and attached the event. Repeating it blindly attaches
the event twice. So the worker first reads each subscription (seed 002's
`GET /v1/subscription/{subscriptionId}`, which lists the events it holds) and:

- a subscription that lists the event is done;
- one that does not, while the earlier try is younger than VISIBILITY_WAIT_SECONDS, is asked
  again later: Rokt attaches events "in a background process" and "it can take up to few
  minutes" (seed 002 lines 115, 377, 423), so "not listed yet" does not mean "not sent";
- one that still does not list it after that is sent again, and only that one.

The event is matched by our eventId, which Rokt keeps as the event's `externalId` (and shows
as `subscriptionEventId` among `eventsVisibleToSubscription`); docs/rokt.md has the reasoning.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from activity.errors import RoktError, RoktRejected
from activity.rokt.api_requests import subscription_request

if TYPE_CHECKING:
    from activity.admin.settings_service import RoktAccount
    from activity.rokt.client import RoktClient
    from activity.rokt.outcomes import Outcomes
    from activity.storage.models import OutboxItem

log = logging.getLogger("activity.rokt.delivery")

# "Up to few minutes" of background processing (seed 002), with room to spare.
VISIBILITY_WAIT_SECONDS = 10 * 60.0
# How often to look again while waiting: each look costs one of the item's attempts.
RECHECK_SECONDS = 2 * 60.0
FOUND_NOTE = "sent: found on Rokt after a try that got no answer"


def lists_event(details: Any, event_id: str) -> bool:
    """Whether a Get Subscription Details answer (seed 002 lines 302-365) holds `event_id`."""
    if not isinstance(details, dict):
        return False
    for entry in details.get("events") or []:
        if isinstance(entry, dict) and event_id in (entry.get("externalId"), entry.get("id")):
            return not entry.get("isExcluded", False)
    for entry in details.get("eventsVisibleToSubscription") or []:
        if isinstance(entry, dict) and entry.get("subscriptionEventId") == event_id:
            return True
    return False


class ResendCheck:
    def __init__(
        self,
        client: RoktClient,
        outcomes: Outcomes,
        calls: asyncio.Semaphore,
        *,
        clock: Callable[[], float],
        wait_seconds: float = VISIBILITY_WAIT_SECONDS,
        recheck_seconds: float = RECHECK_SECONDS,
        enabled: bool = True,
    ) -> None:
        self._enabled = enabled
        self._client = client
        self._outcomes = outcomes
        self._calls = calls
        self._clock = clock
        self._wait = wait_seconds
        self._recheck = recheck_seconds

    async def to_send(
        self, account: RoktAccount, event_id: str, items: Sequence[OutboxItem]
    ) -> list[OutboxItem]:
        """The items to send now, each with only the subscriptions still missing the event;
        the others are settled here (sent, or asked again later)."""
        unsure = [i for i in items if i.maybe_sent_at is not None]
        ready = [i for i in items if i.maybe_sent_at is None]
        if not unsure or not self._enabled:
            return list(items)
        subs = list(dict.fromkeys(s for i in unsure for s in i.subscription_ids))
        answers = await asyncio.gather(*(self._holds(account, s, event_id) for s in subs))
        failed = next((a for a in answers if isinstance(a, RoktError)), None)
        if failed is not None:
            # Rokt cannot tell us now: try again later rather than risk a second copy.
            await self._outcomes.retry(unsure, failed)
            return ready
        held = {s for s, a in zip(subs, answers, strict=True) if a is True}
        unknown = {s for s, a in zip(subs, answers, strict=True) if a is None}
        now = self._clock()
        found, waiting, again = [], [], []
        for item in unsure:
            missing = tuple(s for s in item.subscription_ids if s not in held)
            if not missing:
                found.append(item)
            elif set(missing) <= unknown:
                # Rokt does not know these subscriptions: waiting cannot change its answer.
                again.append(dataclasses.replace(item, subscription_ids=missing))
            elif now - (item.maybe_sent_at or 0.0) < self._wait:
                waiting.append(item)
            else:
                again.append(dataclasses.replace(item, subscription_ids=missing))
        if found:
            await self._outcomes.sent(found, FOUND_NOTE)
        if waiting:
            until = min(
                min((i.maybe_sent_at or now) for i in waiting) + self._wait, now + self._recheck
            )
            await self._outcomes.wait(
                waiting,
                until,
                "unconfirmed: an earlier try got no answer and Rokt does not list the event "
                "yet; looking again before sending it twice",
            )
        if again:
            log.info(
                "Rokt still lacks an event after an unanswered try; sending it again",
                extra={"count": len(again), "endpoint": "create", "mid": again[0].mid},
            )
        return ready + again

    async def _holds(
        self, account: RoktAccount, sub: str, event_id: str
    ) -> bool | RoktError | None:
        """True or False; None when Rokt does not know the subscription (a 4xx)."""
        try:
            async with self._calls:
                details = await self._client.fetch(account, subscription_request(sub))
        except RoktRejected:
            return None  # the create will say so for this subscription
        except RoktError as exc:
            return exc
        return lists_event(details, event_id)
