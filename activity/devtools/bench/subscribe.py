"""The benchmark's subscribe phase: executes with the action `subscribe`, each of which waits
for the fake Rokt's Create Subscription, answered after a realistic latency.

Every contact is a different subscriber, so every execute is one Rokt call; the few bodies
wrk repeats at the end are answered from the idempotency record and call Rokt no more.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from activity.devtools.bench.load import LoadResult
from activity.devtools.demo import ACTIVITY_ID, EID, JOURNEY_ID, MID, Contact
from activity.devtools.jb import execute_payload, sign

DEFAULT_CONTACTS = 2000
DEFAULT_LATENCY = 0.1  # seconds the fake Rokt takes to create a subscription
CALENDAR_CODE = "bench-calendar"


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
