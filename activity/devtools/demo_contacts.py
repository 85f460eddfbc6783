"""The demo's business unit and contacts, and the execute calls Journey Builder makes for them
(signed as JB signs them; a few JB retries replayed)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from activity.devtools.jb import event_arguments, execute_payload, sign

MID = "500000001"
EID = "500000000"
ACCOUNT_CODE = "DEMO-STORE"
CLIENT_ID = "demo-client"
JOURNEY_ID = "78d81790-19da-41dd-9ca2-6fd25baa5699"
ACTIVITY_ID = "2ad157c6-d111-4124-b996-4a3a48b2b168"
FIRST_NAMES = ("Jane", "Omar", "Mei", "Lucas", "Priya", "Tomás", "Aiko", "Kwame", "Sofia", "Noah")


@dataclass(frozen=True)
class Contact:
    key: str
    first_name: str
    subscription_ids: tuple[str, ...]


@dataclass(frozen=True)
class Call:
    """One execute as JB sends it: the signed body and which contact it is for."""

    contact: int
    body: bytes
    replay: bool = False


def make_contacts(n: int, rng: random.Random) -> list[Contact]:
    """Every 10th contact has no subscription (skipped), every 4th has two."""

    def guid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    result = []
    for i in range(n):
        count = 0 if i % 10 == 9 else 2 if i % 4 == 3 else 1
        ids = tuple(guid() for _ in range(count))
        result.append(Contact(f"0031x{i:010d}", FIRST_NAMES[i % len(FIRST_NAMES)], ids))
    return result


def contact_arguments(contact: Contact, *, personalized: bool = False) -> dict[str, Any]:
    """The inArguments JB resolves for `contact` (the binding becomes the attribute's value)."""
    args = event_arguments(
        mid=MID,
        eid=EID,
        eventScope="contact" if personalized else "shared",
        calendarSubscriptionId=", ".join(contact.subscription_ids),
    )
    if personalized:
        args["title"] = "<<First Name>>, your Summer Sale starts"
        args["<<First Name>>"] = contact.first_name
    return args


def journey_calls(
    contacts: Sequence[Contact], secret: str, *, personalized: bool, retries: int, spread: int
) -> list[Call]:
    """One call per contact in order, plus `retries` replays (same activityId and
    definitionInstanceId, as JB retries), each `spread` calls after its original."""
    originals = [
        Call(
            i,
            sign(
                execute_payload(
                    contact_arguments(contact, personalized=personalized),
                    contact_key=contact.key,
                    activity_id=ACTIVITY_ID,
                    journey_id=JOURNEY_ID,
                ),
                secret,
            ),
        )
        for i, contact in enumerate(contacts)
    ]
    step = max(1, len(originals) // max(1, retries))
    replays: dict[int, list[Call]] = {}
    for i in range(0, step * retries, step):
        at = min(len(originals) - 1, i + spread)
        replays.setdefault(at, []).append(Call(i, originals[i].body, replay=True))
    calls: list[Call] = []
    for i, call in enumerate(originals):
        calls.append(call)
        calls.extend(replays.get(i, ()))
    return calls
