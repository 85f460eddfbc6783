"""Rokt Calendar webhooks (v2) -> frozen values, parsed once at the edge.

The envelope is `{eventId, eventType, eventDetails}`; the objects inside are seed 004's
Subscription Basic / Details / Removed and Subscription Event Basic / Details. Parsing is loose
where Rokt's own samples are inconsistent (the type `SubscriptionDetailsUpdate` for
`SubscriptionDetailsUpdated`, `Referer` for `referrer`, timestamps with a space and no zone)
and strict where a wrong value would end up in Marketing Cloud (ids, timestamps, sizes).

A subscription webhook becomes the changes it makes to the subscription's data-extension row:
field -> (value, timestamp). The timestamp decides which value is newest, whatever order the
webhooks arrive in:
- Subscribe: the subscription's `createdDateTimeUtc` (or `confirmationDateTimeUtc` when later).
  It also clears RemovedDateTime at that time, so a later resubscribe undoes an older removal.
- Unsubscribe: `removedDateTimeUtc`, for RemovedDateTime only. Its other fields (where the
  person unsubscribed from) fill a row that has nothing better, at timestamp 0.
- SubscriptionDetailsUpdated: no timestamp in the payload, so the time it was received.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from activity.errors import WebhookMalformed
from activity.journey.text_checks import lone_surrogate
from activity.rokt.webhook_rows import row_values

TEST = "Test"
SUBSCRIBE = "Subscribe"
UNSUBSCRIBE = "Unsubscribe"
DETAILS_UPDATED = "SubscriptionDetailsUpdated"
EVENT_ADDED = "SubscriptionEventAdded"
EVENT_UPDATED = "SubscriptionEventUpdated"
EVENT_REMOVED = "SubscriptionEventRemoved"
EVENT_DELETED = "SubscriptionEventDeleted"
ROW_TYPES = frozenset({SUBSCRIBE, UNSUBSCRIBE, DETAILS_UPDATED})
EVENT_TYPES = frozenset({EVENT_ADDED, EVENT_UPDATED, EVENT_REMOVED, EVENT_DELETED})
_KNOWN = {t.casefold(): t for t in (TEST, *ROW_TYPES, *EVENT_TYPES)}
_KNOWN["subscriptiondetailsupdate"] = DETAILS_UPDATED  # as Rokt's own sample spells it

MAX_ID_LENGTH = 100
GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
# The oldest and newest timestamps taken as real: a year 1 or 9999 date is a broken payload.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
LATEST = datetime(2100, 1, 1, tzinfo=UTC).timestamp()
# Something happened before Rokt told us. A stamp further ahead than a clock or a zone mistaken
# for UTC explains would win over every real webhook after it (newest wins) and freeze the row.
MAX_AHEAD_SECONDS = 86_400.0


@dataclass(frozen=True)
class Webhook:
    webhook_id: str
    event_type: str  # one of the constants above, or the unknown type as sent
    account_code: str = ""
    subscription_id: str = ""
    changes: Mapping[str, tuple[Any, float]] = field(default_factory=dict)
    calendar_event_id: str = ""  # SubscriptionEvent*: the event's (our) id

    @property
    def is_test(self) -> bool:
        return self.event_type == TEST

    @property
    def changes_row(self) -> bool:
        return self.event_type in ROW_TYPES

    @property
    def about_event(self) -> bool:
        return self.event_type in EVENT_TYPES


def parse_webhook(body: bytes, received_at: float) -> Webhook:
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise WebhookMalformed("the body is not UTF-8") from None
    except RecursionError:
        raise WebhookMalformed("the body is nested too deeply") from None
    except ValueError as exc:
        raise WebhookMalformed(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise WebhookMalformed("the body must be a JSON object {eventId, eventType, eventDetails}")
    webhook_id = _text(data, "eventId", required=True, limit=MAX_ID_LENGTH)
    raw_type = _text(data, "eventType", required=True, limit=MAX_ID_LENGTH)
    event_type = _KNOWN.get(raw_type.casefold(), raw_type)
    if event_type == TEST:
        return Webhook(webhook_id, TEST)
    details = data.get("eventDetails")
    if not isinstance(details, dict):
        raise WebhookMalformed("eventDetails must be an object")
    account_code = _text(details, "accountCode", required=True, limit=MAX_ID_LENGTH)
    if event_type in EVENT_TYPES:
        return _event_webhook(webhook_id, event_type, account_code, details)
    if event_type not in ROW_TYPES:
        return Webhook(webhook_id, event_type, account_code)
    subscription = details.get("subscription")
    if not isinstance(subscription, dict):
        raise WebhookMalformed(f"{event_type}: eventDetails.subscription must be an object")
    sub_id = _guid(
        subscription.get("calendarSubscriptionId") or details.get("calendarSubscriptionId")
    )
    changes = _changes(event_type, details, subscription, sub_id, received_at)
    return Webhook(webhook_id, event_type, account_code, sub_id, changes)


def _event_webhook(
    webhook_id: str, event_type: str, account_code: str, details: dict[str, Any]
) -> Webhook:
    event = details.get("subscriptionEvent")
    if not isinstance(event, dict):
        raise WebhookMalformed(f"{event_type}: eventDetails.subscriptionEvent must be an object")
    event_id = _text(event, "eventId", required=True, limit=MAX_ID_LENGTH)
    subscription = details.get("subscription")
    raw_sub = subscription.get("calendarSubscriptionId") if isinstance(subscription, dict) else None
    raw_sub = raw_sub or details.get("calendarSubscriptionId")
    sub_id = _guid(raw_sub) if raw_sub else ""
    return Webhook(webhook_id, event_type, account_code, sub_id, calendar_event_id=event_id)


def _changes(
    event_type: str,
    details: dict[str, Any],
    subscription: dict[str, Any],
    sub_id: str,
    received_at: float,
) -> dict[str, tuple[Any, float]]:
    if event_type == SUBSCRIBE:
        created = _time(subscription, "createdDateTimeUtc", received_at)
        confirmed = _time(subscription, "confirmationDateTimeUtc", received_at)
        stamps = [t for t in (created, confirmed) if t is not None]
        at = max(stamps) if stamps else received_at
    elif event_type == UNSUBSCRIBE:
        removed = _time(subscription, "removedDateTimeUtc", received_at)
        at = 0.0  # where someone unsubscribed from: only when nothing better is known
    else:
        at = received_at
    values = row_values(details, subscription, sub_id)
    changes = {name: (value, at) for name, value in values.items()}
    if event_type == SUBSCRIBE:
        changes["RemovedDateTime"] = (None, at)
    elif event_type == UNSUBSCRIBE:
        when = removed if removed is not None else received_at
        changes["RemovedDateTime"] = (_iso(when), when)
    # The key and the account never change: present at any timestamp, never "newer".
    for name in ("CalendarSubscriptionId", "accountCode", "accountId", "accountName"):
        if name in changes:
            changes[name] = (changes[name][0], 0.0)
    return changes


def _text(data: dict[str, Any], key: str, *, required: bool, limit: int) -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise WebhookMalformed(f"{key} is missing")
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise WebhookMalformed(f"{key} must be a string")
    text = str(value).strip()
    if len(text) > limit:
        raise WebhookMalformed(f"{key} is longer than {limit} characters")
    _check_plain(key, text)
    return text


def _guid(value: Any) -> str:
    if not isinstance(value, str) or not GUID.fullmatch(value.strip()):
        raise WebhookMalformed("calendarSubscriptionId must be a GUID")
    return value.strip().lower()


def _time(data: dict[str, Any], key: str, received_at: float) -> float | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise WebhookMalformed(f"{key} must be a date and time")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise WebhookMalformed(f"{key} is not a date and time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # Rokt's timestamps carry no zone: UTC
    stamp = parsed.timestamp()
    if not EARLIEST <= stamp < LATEST:
        raise WebhookMalformed(f"{key} is out of range: {value[:40]!r}")
    if stamp > received_at + MAX_AHEAD_SECONDS:
        raise WebhookMalformed(f"{key} is in the future: {value[:40]!r}")
    return stamp


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _no_constant(name: str) -> Any:
    # Python's json reads NaN and Infinity, which are not JSON: no sender writes them.
    raise ValueError(f"{name} is not a JSON value")


def _check_plain(name: str, text: str) -> None:
    """A NUL (PostgreSQL text cannot hold it) or a lone surrogate (no UTF-8 encoder writes
    it) is legal JSON that can never be stored or sent: the body's fault, so a 400 now rather
    than a 503 that Rokt would retry for half an hour."""
    if "\x00" in text:
        raise WebhookMalformed(f"{name} contains a NUL character; expected plain text")
    mark = lone_surrogate(text)
    if mark:
        raise WebhookMalformed(f"{name} contains a lone surrogate ({mark}), which is not text")
