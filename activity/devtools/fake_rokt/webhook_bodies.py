"""Rokt webhook bodies (v2), as the fake Rokt sends them.

The envelope is `{eventId, eventType, eventDetails}`; the objects inside are seed 004's
(Subscription Details, Subscription Removed, Subscription Event Basic). Timestamps are written
as Rokt writes them: "2017-03-15 03:48:24.822495", UTC, no zone.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any


def rokt_time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def envelope(event_type: str, details: dict[str, Any], webhook_id: str = "") -> dict[str, Any]:
    return {"eventId": webhook_id or str(uuid.uuid4()), "eventType": event_type,
            "eventDetails": details}  # fmt: skip


def _account(account_code: str, action: str, sub_id: str) -> dict[str, Any]:
    return {
        "actionType": action,
        "calendarSubscriptionId": sub_id,
        "accountId": "f4c1a9e0-0000-4000-8000-00000000ac01",
        "accountName": f"{account_code} (fake)",
        "accountCode": account_code,
    }


def subscription_details(
    sub_id: str,
    *,
    calendar_code: str = "fake-calendar",
    created_at: float | None = None,
    external_id: str = "",
    email: str = "",
    method: str = "Webcal",
    **extra: Any,
) -> dict[str, Any]:
    """Seed 004's Subscription Details object."""
    at = time.time() if created_at is None else created_at
    details: dict[str, Any] = {
        "calendarSubscriptionId": sub_id,
        "calendarId": "4a2d4acb-bd05-e511-af43-067f1c947754",
        "calendarTitle": "Fake Calendar",
        "calendarCode": calendar_code,
        "subscriptionMethod": method,
        "calendarTags": [{"tagId": "6513319e-d3e1-4497-89ee-b5dcee9a58bc", "tagText": "Team G"}],
        "timeZoneTag": {"windowsName": "Eastern Standard Time"},
        "createdDateTimeUtc": rokt_time(at),
        "confirmationDateTimeUtc": rokt_time(at),
        "isMarketingAllowed": True,
        "additionalOptIn": False,
        "userAgent": "Mozilla/5.0 (fake)",
        "Referer": "https://example.com/",
        "countryCode": "US",
        "geoCountry": "United States",
        "deviceName": "Desktop",
        "utmSource": "Newsletter",
        "utmMedium": "Email",
        "utmCampaign": "Launch",
        "utmContent": "button",
        "source": "example.com",
    }
    if external_id:
        details["subscriberExternalId"] = external_id
    if email:
        details["emailAddress"] = email
    details.update(extra)
    return details


def subscribe(account_code: str, sub_id: str, **details: Any) -> dict[str, Any]:
    body = _account(account_code, "SubscriptionViaWebApi", sub_id)
    body["subscription"] = subscription_details(sub_id, **details)
    return envelope("Subscribe", body)


def details_updated(account_code: str, sub_id: str, **details: Any) -> dict[str, Any]:
    body = _account(account_code, "SubscriptionDetailsUpdated", sub_id)
    body["subscription"] = subscription_details(sub_id, **details)
    return envelope("SubscriptionDetailsUpdated", body)


def unsubscribe(
    account_code: str, sub_id: str, *, removed_at: float | None = None, reason: str = ""
) -> dict[str, Any]:
    """Seed 004's Subscription Removed object."""
    body = _account(account_code, "Unsubscribe", sub_id)
    at = time.time() if removed_at is None else removed_at
    body["subscription"] = {
        "removedDateTimeUtc": rokt_time(at),
        "unsubscribeReasonText": reason or "No longer interested",
        "userAgent": "Mozilla/5.0 (fake)",
        "deviceName": "Mobile",
        "countryCode": "NZ",
        "geoCountry": "New Zealand",
        "calendarSubscriptionId": sub_id,
        "calendarId": "4a2d4acb-bd05-e511-af43-067f1c947754",
        "calendarTitle": "Fake Calendar",
        "calendarCode": "fake-calendar",
        "subscriptionMethod": "Webcal",
    }
    return envelope("Unsubscribe", body)


def event_removed(account_code: str, sub_id: str, event_id: str) -> dict[str, Any]:
    body = _account(account_code, "SubscriptionEventRemoved", sub_id)
    body["subscription"] = {"calendarSubscriptionId": sub_id, "calendarCode": "fake-calendar",
                            "calendarId": "4a2d4acb-bd05-e511-af43-067f1c947754",
                            "calendarTitle": "Fake Calendar"}  # fmt: skip
    body["subscriptionEvent"] = {"eventId": event_id}
    return envelope("SubscriptionEventRemoved", body)


def test_event() -> dict[str, Any]:
    return envelope("Test", {"message": "This is a test webhook"})
