"""The fake Rokt's Create New Subscription: `POST /v2/subscribe/{accountCode}/{calendarCode}`.

Seed 003 is the reference; each rule below cites the lines it follows. Where the seed is
silent the fake picks the stricter reading and says so: an unknown body field is refused (so a
misspelt field name fails a test instead of being ignored), and a calendar must have been
declared (with `add_calendar`, or in the fake's calendars, calendars.py) once any calendar of
that account has been. A subscription deactivated since (Deactivate Subscriptions) is not
"existing": subscribing again makes a new one.

Identity: a subscriber is `subscriberId`, or the email address when no subscriberId is given
(seed 001 line 241: the captured email "becomes the subscriber ID"); without either, every
call is a new anonymous subscription. The same subscriber on the same calendar with the same
method gets the existing subscription back (seed 003 lines 122-125, 180-181).

Google and Microsoft: a new subscription first needs the person's OAuth consent (lines
145-148), so the answer carries `redirectTo` (the consent form) and no subscriptionId; the
fake's consent form is `GET /fake/consent/{token}`, which creates the subscription and sends
the person on to the caller's redirectTo (line 178). Afterwards the same request answers as
an existing subscription (lines 180-211).
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from activity.devtools.fake_rokt.subscribe_rules import (
    NEEDS_CONSENT,
    WEBCAL,
    body_errors,
    method_of,
)

ENDPOINT = "subscribe"

_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")

Answer = tuple[int, dict[str, Any]]


def failure(status: int, errors: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Lines 96-109: `success`, `statusCode` and `errors` are always present."""
    return {
        "success": False,
        "statusCode": status,
        "errors": [{"code": code, "reason": reason} for code, reason in errors],
    }


@dataclass
class FakeSubscription:
    subscription_id: str
    account: str
    calendar: str
    method: str
    subscriber_id: str
    email: str
    details: dict[str, Any]  # what the latest request said (utm fields, opt-in, ...)
    created_at: float
    updated_at: float
    created_wall: float = field(default_factory=time.time)  # for the webhook's timestamps


@dataclass(frozen=True)
class _Consent:
    account: str
    calendar: str
    method: str
    subscriber_id: str
    email: str
    redirect_to: str
    details: dict[str, Any] = field(default_factory=dict)


class SubscriptionBook:
    """Subscriptions by ID and by (account, calendar, method, subscriber)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.subscriptions: dict[str, FakeSubscription] = {}
        self.calendars: dict[str, set[str]] = {}  # declared calendars per account
        self._by_subscriber: dict[tuple[str, str, str, str], str] = {}
        self._consents: dict[str, _Consent] = {}
        # Called with each subscription made or updated (the webhook sender hooks in here).
        self.listeners: list[Callable[[FakeSubscription, bool], None]] = []

    def add_calendar(self, account: str, calendar: str) -> None:
        self.calendars.setdefault(account, set()).add(calendar)

    def subscribe(
        self,
        account: str,
        calendar: str,
        body: Any,
        base_url: str,
        *,
        known_calendars: Collection[str] = (),
        inactive: Callable[[FakeSubscription], bool] = lambda _: False,
    ) -> Answer:
        """`known_calendars`: the account's calendars the rest of the fake knows (calendars.py);
        `inactive`: whether a subscription was deactivated since (Deactivate Subscriptions)."""
        errors = body_errors(body)
        if errors:
            return 400, failure(400, errors)
        declared = self.calendars.get(account, set()) | set(known_calendars)
        if not _SLUG.match(calendar) or (declared and calendar not in declared):
            return 404, failure(404, [("CalendarNotFound", f"calendar {calendar!r} not found")])
        method = method_of(body)
        subscriber = str(body.get("subscriberId") or body.get("emailAddress") or "")
        email = str(body.get("emailAddress") or "")
        details = {k: v for k, v in body.items() if k not in ("subscriberId", "emailAddress")}
        key = (account, calendar, method, subscriber)
        existing = self._by_subscriber.get(key) if subscriber else None
        if existing is not None and inactive(self.subscriptions[existing]):
            existing = None  # unsubscribed since: subscribing again makes a new one
        if existing is not None:
            found = self.subscriptions[existing]
            found.email = email or found.email
            found.details.update(details)
            found.updated_at = self.clock()
            self._tell(found, False)
            return 200, self._success(found, False, base_url)
        if method in NEEDS_CONSENT:
            token = secrets.token_urlsafe(16)
            self._consents[token] = _Consent(
                account, calendar, method, subscriber, email, str(body["redirectTo"]), details
            )
            # Lines 150-176: no subscriptionId yet; redirectTo is the consent form.
            return 200, {
                "success": True,
                "statusCode": 200,
                "errors": [],
                "subscriptionType": method,
                "subscriberId": subscriber,
                "redirectTo": f"{base_url}/fake/consent/{token}",
            }
        made = self._create(account, calendar, method, subscriber, email, details)
        return 200, self._success(made, True, base_url)

    def consent(self, token: str) -> str | None:
        """The person agreed on the consent form: the subscription exists now. Returns where
        to send them (the caller's redirectTo with the result), None for an unknown token."""
        pending = self._consents.pop(token, None)
        if pending is None:
            return None
        key = (pending.account, pending.calendar, pending.method, pending.subscriber_id)
        existing = self._by_subscriber.get(key) if pending.subscriber_id else None
        made = (
            self.subscriptions[existing]
            if existing is not None
            else self._create(
                pending.account,
                pending.calendar,
                pending.method,
                pending.subscriber_id,
                pending.email,
                pending.details,
            )
        )
        result = {"success": "true", "subscriptionId": made.subscription_id}
        joiner = "&" if urlsplit(pending.redirect_to).query else "?"
        return f"{pending.redirect_to}{joiner}{urlencode(result)}"

    def of_subscriber(self, subscriber_id: str) -> list[FakeSubscription]:
        return [s for s in self.subscriptions.values() if s.subscriber_id == subscriber_id]

    def _create(
        self,
        account: str,
        calendar: str,
        method: str,
        subscriber: str,
        email: str,
        details: dict[str, Any],
    ) -> FakeSubscription:
        now = self.clock()
        made = FakeSubscription(
            str(uuid.uuid4()), account, calendar, method, subscriber, email, details, now, now
        )
        self.subscriptions[made.subscription_id] = made
        if subscriber:
            self._by_subscriber[(account, calendar, method, subscriber)] = made.subscription_id
        self._tell(made, True)
        return made

    def _tell(self, subscription: FakeSubscription, is_new: bool) -> None:
        for listener in self.listeners:
            listener(subscription, is_new)

    def _success(self, made: FakeSubscription, is_new: bool, base_url: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "success": True,
            "statusCode": 200,
            "errors": [],
            "subscriptionType": made.method,
            "subscriptionId": made.subscription_id,
            "isNewSubscription": is_new,
            "subscriberId": made.subscriber_id,
        }
        if made.method == WEBCAL:
            # Lines 118-121: the WebCal answer carries the URL to open; a Google/Microsoft
            # subscription already lives in the person's calendar (lines 183-211 list none).
            host = urlsplit(base_url).netloc
            body["subscriptionUrl"] = f"webcal://{host}/ical/{made.subscription_id}.ics"
        return body
