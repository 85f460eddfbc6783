"""The fake Rokt's state: clients, tokens, events, the request record and scripted failures.

Pure bookkeeping; `server.py` turns HTTP requests into calls on a `FakeRokt`.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from activity.devtools.fake_rokt import rules
from activity.devtools.fake_rokt.calendars import FakeCalendars
from activity.devtools.fake_rokt.subscribe import SubscriptionBook

GUID = rules.GUID
ENDPOINTS = (
    "token",
    "create",
    "update",
    "cancel",
    "remove",
    "subscription",
    "calendar_events",
    "subscribe",
    "unsubscribe",
)
API = "api"  # script target matching every endpoint except the token endpoint
REQUIRED_EVENT_FIELDS = rules.REQUIRED_EVENT_FIELDS
DEMO_CLIENT_ID = "demo-client"
DEMO_CLIENT_SECRET = "demo-secret"  # a development fake's well-known credentials

Answer = tuple[int, dict[str, Any]]
EventKey = tuple[str, str]  # (account code, event ID)


@dataclass(frozen=True)
class RecordedRequest:
    endpoint: str
    method: str
    path: str
    json: Any
    at: float
    status: int
    query: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # how long the answer was held back


@dataclass(frozen=True)
class Step:
    """One scripted answer. `status` None answers normally (after `delay`); 0 drops the
    connection without answering."""

    status: int | None
    retry_after: str | None = None
    delay: float = 0.0
    body: dict[str, Any] | None = None


@dataclass
class _Script:
    target: str
    steps: deque[Step]

    def matches(self, endpoint: str, path: str) -> bool:
        if self.target == "*":
            return True
        if self.target == API:
            return endpoint != "token"
        if self.target.startswith("/"):
            return path.startswith(self.target)
        return self.target == endpoint


def error_body(status: int, errors: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {
        "success": False,
        "statusCode": status,
        "message": "; ".join(reason for _, reason in errors),
        "errors": [{"code": code, "reason": reason} for code, reason in errors],
    }


ACCEPTED: Answer = (202, {"success": True, "statusCode": 202, "message": "Accepted"})


class FakeRokt:
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
        self._scripts: list[_Script] = []
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

    # --- steering -------------------------------------------------------------------------

    def script(
        self,
        target: str,
        statuses: Iterable[int | None],
        *,
        retry_after: float | str | None = None,
        delay: float = 0.0,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next matching requests with `statuses`, in order, then normally again.

        `target` is an endpoint name (see ENDPOINTS), "api" (every endpoint but the token
        endpoint), "*" or a path prefix starting with "/".
        """
        if not target.startswith("/") and target not in (*ENDPOINTS, API, "*"):
            raise ValueError(f"unknown script target {target!r}")
        after = None if retry_after is None else str(retry_after)
        steps = deque(Step(s, after, delay, body) for s in statuses)
        self._scripts.append(_Script(target, steps))

    def next_step(self, endpoint: str, path: str) -> Step | None:
        for script in self._scripts:
            if script.steps and script.matches(endpoint, path):
                return script.steps.popleft()
        return None

    def clear_scripts(self) -> None:
        """Rokt answers normally again, whatever was scripted."""
        self._scripts.clear()

    @property
    def scripted_left(self) -> int:
        return sum(len(s.steps) for s in self._scripts)

    def reject_subscriptions(self, *ids: str, reason: str = "subscription not found") -> None:
        for sub in ids:
            self.rejected_subscriptions[sub] = reason

    def add_client(
        self, client_id: str, client_secret: str, *, accounts: Iterable[str] | None = None
    ) -> None:
        self.clients[client_id] = client_secret
        if accounts is not None:
            self.own(client_id, *accounts)

    def own(self, client_id: str, *account_codes: str) -> None:
        """`client_id` owns exactly these account codes (and any added later this way)."""
        self.strict_accounts.setdefault(client_id, set()).update(account_codes)
        for code in account_codes:
            self.account_owner[code] = client_id

    def account_refused(self, token: str, account: str) -> bool:
        """True when the token's client does not own `account` (the API answers 404)."""
        client = self.token_clients.get(token, "")
        owner = self.account_owner.get(account)
        if owner is None and client not in self.strict_accounts:
            self.account_owner[account] = client
            return False
        return owner != client

    def expire_tokens(self) -> None:
        self.tokens.clear()

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

    # --- what tests ask -------------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        self.requests.append(request)
        if self.record_path is not None:
            with self.record_path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(recorded_json(len(self.requests) - 1, request)) + "\n")

    def duplicates(self) -> int:
        """Events attached again to a subscription that already held them."""
        return sum(self.duplicate_attachments.values())

    def calls(
        self, endpoint: str | None = None, status: int | None = None
    ) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if (endpoint is None or r.endpoint == endpoint)
            and (status is None or r.status == status)
        ]

    def subscription_ids_sent(self, account: str | None = None) -> list[str]:
        """Every subscription ID in accepted create calls, in order, repeats included."""
        return [
            sub
            for r in self.calls("create", 202)
            if account is None or r.path.rstrip("/").rsplit("/", 1)[-1] == account
            for sub in r.json["subscriptionIds"]
        ]

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


def recorded_json(index: int, request: RecordedRequest) -> dict[str, Any]:
    """One recorded request as the fake shows it over HTTP and writes it to its record file."""
    return {
        "index": index,
        "endpoint": request.endpoint,
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "json": request.json,
        "at": request.at,
        "status": request.status,
        "delay": request.delay,
    }
