"""The fake Rokt's state: clients, tokens, events, the request record and scripted failures.

Pure bookkeeping; `server.py` turns HTTP requests into calls on a `FakeRokt`.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from activity.devtools.fake_rokt.calendars import FakeCalendars
from activity.devtools.fake_rokt.subscribe import SubscriptionBook

GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
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
REQUIRED_EVENT_FIELDS = ("eventId", "title", "start", "end", "timezone")
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

    def add_client(self, client_id: str, client_secret: str) -> None:
        self.clients[client_id] = client_secret

    def expire_tokens(self) -> None:
        self.tokens.clear()

    # --- auth -----------------------------------------------------------------------------

    def grant(self, client_id: str, client_secret: str) -> str | None:
        expected = self.clients.get(client_id)
        if expected is None or not secrets.compare_digest(expected, client_secret):
            return None
        token = secrets.token_urlsafe(32)
        self.tokens[token] = self.clock() + self.token_ttl
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
        errors += _event_errors(event, "event.", required=REQUIRED_EVENT_FIELDS)
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
        self.holders.setdefault(key, set()).update(subs)
        return ACCEPTED

    def update(self, account: str, body: Any) -> Answer:
        if not isinstance(body, dict):
            return 400, error_body(400, [("Required", "a JSON object body is required")])
        errors = _event_errors(body, "", required=("eventId",))
        if errors:
            return 400, error_body(400, errors)
        key = (account, str(body["eventId"]))
        if key not in self.events:
            return 400, error_body(400, [("EventNotFound", f"event {key[1]} does not exist")])
        self.events[key].update(body)
        return ACCEPTED

    def cancel(self, account: str, event_id: str) -> Answer:
        key = (account, event_id)
        if self.events.pop(key, None) is not None:
            self.cancelled.add(key)
        self.holders.pop(key, None)
        return ACCEPTED  # deleting what is already gone succeeds: the end state holds

    def remove(self, account: str, subscription_id: str, event_id: str) -> Answer:
        if not GUID.match(subscription_id):
            return 400, error_body(400, [("InvalidSubscriptionId", "subscriptionId is not a GUID")])
        if subscription_id in self.rejected_subscriptions:
            reason = self.rejected_subscriptions[subscription_id]
            return 400, error_body(400, [("InvalidSubscription", f"{subscription_id}: {reason}")])
        self.holders.get((account, event_id), set()).discard(subscription_id)
        return ACCEPTED

    def subscription(self, subscription_id: str) -> Answer:
        if not GUID.match(subscription_id) or subscription_id in self.rejected_subscriptions:
            return 400, error_body(400, [("InvalidSubscription", "subscription not found")])
        held = [(key, self.events[key]) for key in self.events_of(subscription_id)]
        return 200, {
            "subscriptionId": subscription_id,
            "isActive": not self.calendars.deactivated(subscription_id),
            "events": [
                {"id": k[1], "name": e.get("title", ""), "externalId": k[1], "isExcluded": False}
                for k, e in held
            ],
            "eventsVisibleToSubscription": [_visible(k, e) for k, e in held],
        }

    # --- what tests ask -------------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        self.requests.append(request)

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


def _event_errors(
    event: dict[str, Any], prefix: str, *, required: Sequence[str]
) -> list[tuple[str, str]]:
    errors = [
        ("Required", f"{prefix}{name} is required")
        for name in required
        if not isinstance(event.get(name), str) or not event[name].strip()
    ]
    times: dict[str, datetime] = {}
    for name in ("start", "end"):
        value = event.get(name)
        if isinstance(value, str) and value.strip():
            try:
                times[name] = datetime.fromisoformat(value).replace(tzinfo=None)
            except ValueError:
                errors.append(("InvalidDate", f"{prefix}{name} {value!r} is not an ISO date"))
    if "start" in times and "end" in times and times["end"] < times["start"]:
        errors.append(("InvalidDateRange", f"{prefix}end is before {prefix}start"))
    return errors


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
