"""How one action on one rendered event becomes Rokt Calendar API requests.

The paths and body shapes follow the Rokt Calendar API reference (seed 002): create is
POST /v1/subscriptionevent/{accountCode} with {"event": ..., "subscriptionIds": [...]};
update is POST .../update (see `update_body`); cancel deletes the event for everyone; remove
takes it out of one subscription; unsubscribe is "Deactivate Subscriptions",
DELETE /v1/subscription/{accountCode}/{calendarCode} with the subscription in the body.
docs/rokt.md explains each choice.

`actionType` is left out on purpose. Seed 002 shows it (a "string", on create both inside the
event and at the top level, and on update), but no public Rokt page says which values it
takes: the reference types it only as String, the older readme.io model of an event omits it,
and the only values published ("SubscriptionViaCalendarPage") describe what a subscriber did
in Rokt's webhooks, not a request. Sending a guessed value risks a 400 for every contact, or
a silently different behaviour; leaving out an undocumented optional field risks nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

CREATE = "create"
UPDATE = "update"
REMOVE = "remove"
CANCEL = "cancel"
UNSUBSCRIBE = "unsubscribe"
ACTIONS = (CREATE, UPDATE, REMOVE, CANCEL, UNSUBSCRIBE)
# Actions sent once per subscription ID; the others concern the event.
PER_SUBSCRIPTION = (REMOVE, UNSUBSCRIBE)
# What Rokt records as the reason a subscription was deactivated (seed 002's body field).
UNSUBSCRIBE_REASON = "Unsubscribed by a Marketing Cloud journey"

# Subscription IDs per create call. Rokt accepts arrays; this bounds request size.
MAX_SUBSCRIPTIONS_PER_CALL = 500


def canonical_json(event: Mapping[str, Any]) -> str:
    """A rendered event as stored in the outbox and hashed into its batch key."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class RoktRequest:
    endpoint: str  # the action, used as a metrics label
    method: str
    path: str
    body: dict[str, Any] | None


def _seg(value: str) -> str:
    return quote(value, safe="")


def requests_for(
    action: str,
    account_code: str,
    payload: Mapping[str, Any],
    subscription_ids: Sequence[str],
) -> list[RoktRequest]:
    """`payload` is the rendered event object (it always holds `eventId`), or for
    unsubscribe `{"calendarCode": ...}`."""
    account = _seg(account_code)
    if action == UNSUBSCRIBE:
        path = f"/v1/subscription/{account}/{_seg(str(payload['calendarCode']))}"
        return [
            RoktRequest(UNSUBSCRIBE, "DELETE", path, unsubscribe_body(sub))
            for sub in subscription_ids
        ]
    event_id = str(payload["eventId"])
    if action == CREATE:
        return [
            RoktRequest(
                CREATE,
                "POST",
                f"/v1/subscriptionevent/{account}",
                {"event": dict(payload), "subscriptionIds": list(chunk)},
            )
            for chunk in chunks(subscription_ids, MAX_SUBSCRIPTIONS_PER_CALL)
        ]
    if action == UPDATE:
        return [
            RoktRequest(
                UPDATE, "POST", f"/v1/subscriptionevent/{account}/update", update_body(payload)
            )
        ]
    if action == CANCEL:
        return [
            RoktRequest(CANCEL, "DELETE", f"/v1/subscriptionevent/{account}/{_seg(event_id)}", None)
        ]
    if action == REMOVE:
        return [
            RoktRequest(
                REMOVE,
                "DELETE",
                f"/v2/subscription/{account}/{_seg(sub)}/subscriptionevent/{_seg(event_id)}",
                None,
            )
            for sub in subscription_ids
        ]
    raise ValueError(f"unknown action {action!r}")


def update_body(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The update body in both documented shapes at once.

    Seed 002 (the API reference) shows the event's fields flat at the top level; Rokt's own
    Braze template (seed 000) wraps the same fields in "event", as create does. Either reading
    of the body finds the full event, and the two copies are always equal.
    """
    event = dict(payload)
    return {**event, "event": dict(event)}


def subscription_request(subscription_id: str) -> RoktRequest:
    """Seed 002's Get Subscription Details: the events a subscription holds."""
    return RoktRequest("subscription", "GET", f"/v1/subscription/{_seg(subscription_id)}", None)


def unsubscribe_body(subscription_id: str) -> dict[str, Any]:
    """Deactivate one subscription (`id`), not every subscription of a user name."""
    return {
        "id": subscription_id,
        "unsubscribeReasonId": None,
        "unsubscribeReasonText": UNSUBSCRIBE_REASON,
    }


def chunks(values: Sequence[str], size: int) -> list[Sequence[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)] or [values]
