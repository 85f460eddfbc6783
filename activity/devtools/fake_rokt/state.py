"""The fake Rokt's state: clients, tokens and events, the API's rules applied to them. Steering
(scripted failures, clients, accounts) is in steering.py, the request record in record.py.

Pure bookkeeping; `server.py` turns HTTP requests into calls on a `FakeRokt`.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from activity.devtools.fake_rokt import rules
from activity.devtools.fake_rokt.answers import ACCEPTED, Answer, EventKey, error_body
from activity.devtools.fake_rokt.calendar_book import FakeCalendars
from activity.devtools.fake_rokt.record import Record, RecordedRequest
from activity.devtools.fake_rokt.steering import Script, Steering
from activity.devtools.fake_rokt.subscribe import SubscriptionBook

GUID = rules.GUID
REQUIRED_EVENT_FIELDS = rules.REQUIRED_EVENT_FIELDS
DEMO_CLIENT_ID = "demo-client"
DEMO_CLIENT_SECRET = "demo-secret"  # a development fake's well-known credentials


class FakeRokt(Steering, Record):
    """A Rokt Calendar account (or several) in memory, recording every request.

    Tests read `requests`, `token_grants`, `events` and `holders`; they steer failures with
    `script()`, `reject_subscriptions()`, `delay`, `token_endpoint_down` and `expire_tokens()`.
    """

    def __init__(
        self,
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
        token_ttl: float = 300.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clients: dict[str, str] = {client_id: client_secret}
        self.token_ttl = token_ttl
        self.clock = clock
        self.tokens: dict[str, float] = {}  # access token -> expiry on `clock`
        self.token_grants = 0
        self.requests: list[RecordedRequest] = []
        self.events: dict[EventKey, dict[str, Any]] = {}
        self.holders: dict[EventKey, set[str]] = {}  # subscriptions that hold the event
        self.cancelled: set[EventKey] = set()
        self.calendars = FakeCalendars()  # calendar listing and unsubscribe: calendars.py
        self.rejected_subscriptions: dict[str, str] = {}
        self.delay = 0.0
        self.token_endpoint_down = False
        self.in_flight = 0
        self.max_in_flight = 0
        self._scripts: list[Script] = []
        self.subscribe = SubscriptionBook(clock)  # Create New Subscription (subscribe.py)
        self._init_fidelity()

    def _init_fidelity(self) -> None:
        """State for the stricter rules (see rules.py) and the exactly-once evidence."""
        self.token_clients: dict[str, str] = {}  # access token -> client ID
        # Account code -> the client that owns it. A client listed in `strict_accounts` owns
        # exactly its codes; any other client takes an unowned code on first use, so two
        # clients never share one (Rokt issues credentials per account, seed 001 line 21).
        self.account_owner: dict[str, str] = {}
        self.strict_accounts: dict[str, set[str]] = {}
        # (account, event, subscription) -> times a create attached an event that the
        # subscription already held: an exactly-once check reads this.
        self.duplicate_attachments: Counter[tuple[str, str, str]] = Counter()
        # Seed 002 lines 115, 377, 423: Rokt applies changes "in a background process", taking
        # up to a few minutes. A create becomes visible to GET /v1/subscription only after
        # `processing_delay` seconds on `clock`.
        self.processing_delay = 0.0
        self.visible_at: dict[tuple[EventKey, str], float] = {}
        self.event_guids: dict[EventKey, str] = {}
        self.record_path: Path | None = None  # every request appended here as JSON lines
        # Extra seconds per answer (replay.lognormal_latency gives a realistic tail).
        self.latency: Callable[[], float] = lambda: 0.0

    # --- auth -----------------------------------------------------------------------------

    def grant(self, client_id: str, client_secret: str) -> str | None:
        expected = self.clients.get(client_id)
        if expected is None or not secrets.compare_digest(expected, client_secret):
            return None
        token = secrets.token_urlsafe(32)
        self.tokens[token] = self.clock() + self.token_ttl
        self.token_clients[token] = client_id
        self.token_grants += 1
        return token

    def token_valid(self, token: str) -> bool:
        expires = self.tokens.get(token)
        return expires is not None and self.clock() < expires

    # --- the API ----------------------------------------------------------------------------

    def create(self, account: str, body: Any) -> Answer:
        errors: list[tuple[str, str]] = []
        event = body.get("event") if isinstance(body, dict) else None
        if not isinstance(event, dict):
            return 400, error_body(400, [("Required", "event is required")])
        errors += rules.event_problems(event, "event.")
        subs = body.get("subscriptionIds")
        if not isinstance(subs, list) or not subs:
            errors.append(("Required", "subscriptionIds must be a non-empty list"))
            subs = []
        for sub in subs:
            if not isinstance(sub, str) or not GUID.match(sub):
                errors.append(("InvalidSubscriptionId", f"subscriptionId {sub!r} is not a GUID"))
            elif sub in self.rejected_subscriptions:
                errors.append(("InvalidSubscription", f"{sub}: {self.rejected_subscriptions[sub]}"))
        if errors:
            return 400, error_body(400, errors)
        key = (account, str(event["eventId"]))
        self.events[key] = dict(event)
        self.cancelled.discard(key)
        held = self.holders.setdefault(key, set())
        visible = self.clock() + self.processing_delay
        for sub in subs:
            if sub in held:
                self.duplicate_attachments[(account, key[1], sub)] += 1
            else:
                self.visible_at[(key, sub)] = visible
        held.update(subs)
        return ACCEPTED

    def update(self, account: str, body: Any) -> Answer:
        event, errors = rules.update_event(body)
        if errors or event is None:
            return 400, error_body(400, errors)
        key = (account, str(event["eventId"]))
        if key not in self.events:
            return 400, error_body(400, [("EventNotFound", f"event {key[1]} does not exist")])
        self.events[key].update(event)
        return ACCEPTED

    def cancel(self, account: str, event_id: str) -> Answer:
        key = (account, event_id)
        if self.events.pop(key, None) is None:
            # The reference lists no 404 here (seed 002 lines 129-137), but an unknown event
            # is not found; the activity must not mistake it for success.
            return 404, error_body(404, [("EventNotFound", f"event {event_id} does not exist")])
        self.cancelled.add(key)
        self.holders.pop(key, None)
        return ACCEPTED

    def remove(self, account: str, subscription_id: str, event_id: str) -> Answer:
        if not GUID.match(subscription_id):
            return 400, error_body(400, [("InvalidSubscriptionId", "subscriptionId is not a GUID")])
        if subscription_id in self.rejected_subscriptions:
            reason = self.rejected_subscriptions[subscription_id]
            return 400, error_body(400, [("InvalidSubscription", f"{subscription_id}: {reason}")])
        held = self.holders.get((account, event_id), set())
        if subscription_id not in held:
            # As for cancel: what the subscription does not hold is not found.
            return 404, error_body(
                404, [("EventNotFound", f"event {event_id} is not in {subscription_id}")]
            )
        held.discard(subscription_id)
        return ACCEPTED

    def subscription(self, subscription_id: str, client: str | None = None) -> Answer:
        """Seed 002 lines 283-369: a subscription's details with the events it holds, once
        Rokt's background processing has made them visible. With `client`, only events of
        accounts that client owns are shown (credentials see their own account only)."""
        if not GUID.match(subscription_id) or subscription_id in self.rejected_subscriptions:
            return 400, error_body(400, [("InvalidSubscription", "subscription not found")])
        now = self.clock()
        held = [
            (key, self.events[key])
            for key in self.events_of(subscription_id)
            if key in self.events
            and self.visible_at.get((key, subscription_id), 0.0) <= now
            and (client is None or self.account_owner.get(key[0]) == client)
        ]
        return 200, {
            "subscriptionId": subscription_id,
            "isActive": not self.calendars.deactivated(subscription_id),
            "events": [
                {
                    "id": self._event_guid(k),
                    "name": e.get("title", ""),
                    "externalId": k[1],
                    "isExcluded": False,
                }
                for k, e in held
            ],
            "eventsVisibleToSubscription": [
                {**_visible(k, e), "calendarEventId": self._event_guid(k)} for k, e in held
            ],
        }

    def _event_guid(self, key: EventKey) -> str:
        """Rokt's own id for an event (the GUID beside our eventId, the "externalId")."""
        return self.event_guids.setdefault(key, str(uuid.uuid4()))

    def events_of(self, subscription_id: str) -> list[EventKey]:
        return sorted(k for k, subs in self.holders.items() if subscription_id in subs)


def _visible(key: EventKey, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": event.get("title", ""),
        "location": event.get("location", ""),
        "description": event.get("description", ""),
        "subscriptionEventId": key[1],
        "calendarEventId": key[1],
        "timezone": event.get("timezone", ""),
        "timezoneIanaId": event.get("timezoneIanaId", ""),
        "startDateTime": event.get("start"),
        "endDateTime": event.get("end"),
        "allDayEvent": bool(event.get("allDayEvent", False)),
        "reminderMinutes": event.get("notifyBefore"),
        "accountId": key[0],
        "isSubscriptionEvent": True,
    }
