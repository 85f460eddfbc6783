"""The benchmark's subscribe phase: executes with the action `subscribe`, each of which waits
for the fake Rokt's Create Subscription, answered after a realistic latency.

Every contact is a different subscriber, so every execute is one Rokt call; the few bodies
wrk repeats at the end are answered from the idempotency record and call Rokt no more.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from activity.devtools.bench.load import LoadResult
from activity.devtools.demo_contacts import ACTIVITY_ID, EID, JOURNEY_ID, MID, Contact
from activity.devtools.jb import execute_payload, sign

DEFAULT_CONTACTS = 2000
DEFAULT_LATENCY = 0.1  # seconds the fake Rokt takes to create a subscription
CALENDAR_CODE = "bench-calendar"
SETTLE_SECONDS = 10.0


def subscribe_arguments(contact: Contact) -> dict[str, Any]:
    """A subscribe activity's inArguments as JB resolves them for `contact`."""
    return {
        "mid": MID,
        "eid": EID,
        "action": "subscribe",
        "calendarCode": CALENDAR_CODE,
        "subscriptionMethod": "WebCal",
        "emailAddress": f"{contact.key.lower()}@example.com",
        "utmSource": "journey",
        "utmCampaign": "<<First Name>>-bench",
        "<<First Name>>": contact.first_name,
        "onError": "continue",
    }


def subscribe_bodies(contacts: Sequence[Contact], secret: str) -> Iterator[bytes]:
    for c in contacts:
        payload = execute_payload(
            subscribe_arguments(c),
            contact_key=c.key,
            activity_id=f"{ACTIVITY_ID}-subscribe",
            journey_id=JOURNEY_ID,
        )
        yield sign(payload, secret)


@dataclass(frozen=True)
class SubscribePhase:
    load: LoadResult
    contacts: int
    rokt_calls: int  # Create Subscription calls the fake Rokt received during the phase
    subscriptions: int  # subscriptions the fake Rokt holds after it
    latency_ms: float  # the fake Rokt's latency per call
    connections: int

    @property
    def once_each(self) -> bool:
        """One Rokt call and one subscription per contact answered; never more."""
        return self.rokt_calls == self.subscriptions == self.contacts


async def measure(
    load: Awaitable[LoadResult],
    stats: Callable[[], Awaitable[dict[str, Any]]],
    contacts: int,
    latency: float,
    connections: int,
) -> SubscribePhase:
    """Run the load; count Rokt's Create Subscription calls and subscriptions during it."""
    before = await stats()
    result = await load
    # wrk may stop while the last few distinct bodies are still at Rokt: wait for them.
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        after = await stats()
        made = after["calendar_subscriptions"] - before["calendar_subscriptions"]
        if made >= contacts or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    calls = after["calls"].get("subscribe", 0) - before["calls"].get("subscribe", 0)
    return SubscribePhase(result, contacts, calls, made, 1000 * latency, connections)
