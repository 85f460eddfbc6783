"""A subscription webhook's objects -> the "Calendar Subscription" data-extension row: which
field is read from where in seed 004's Subscription objects (eventDetails and its
subscription), and each value fitted to its field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activity.errors import WebhookMalformed
from activity.remote_json import plain_text
from activity.sfmc.data_extension import FIELDS_BY_NAME, fit

# Data-extension field -> how to read it from (eventDetails, subscription).
_Reader = Callable[[dict[str, Any], dict[str, Any]], Any]


def _sub(*names: str) -> _Reader:
    def read(_details: dict[str, Any], subscription: dict[str, Any]) -> Any:
        for name in names:
            if subscription.get(name) is not None:
                return subscription[name]
        return None

    return read


def _det(name: str) -> _Reader:
    return lambda details, _subscription: details.get(name)


def _tags(key: str) -> _Reader:
    def read(_details: dict[str, Any], subscription: dict[str, Any]) -> Any:
        tags = subscription.get("calendarTags")
        if not isinstance(tags, list):
            return None
        found = [str(t[key]) for t in tags if isinstance(t, dict) and t.get(key) is not None]
        return ",".join(found) if found else None

    return read


def _time_zone(_details: dict[str, Any], subscription: dict[str, Any]) -> Any:
    tag = subscription.get("timeZoneTag")
    return tag.get("windowsName") if isinstance(tag, dict) else tag


READERS: dict[str, _Reader] = {
    "accountCode": _det("accountCode"),
    "accountId": _det("accountId"),
    "accountName": _det("accountName"),
    "calendarCode": _sub("calendarCode"),
    "calendarId": _sub("calendarId"),
    "calendarTitle": _sub("calendarTitle"),
    "countryCode": _sub("countryCode"),
    "deviceName": _sub("deviceName"),
    "Email": _sub("emailAddress", "email"),
    "EventId": _sub("eventId"),
    "geoCountry": _sub("geoCountry"),
    "optIn1": _sub("isMarketingAllowed"),
    "optIn2": _sub("additionalOptIn"),
    "Referrer": _sub("referrer", "Referer", "referer"),
    "source": _sub("source"),
    "SubscriberExternalId": _sub("subscriberExternalId"),
    "subscriptionMethod": _sub("subscriptionMethod"),
    "TimeZoneTag": _time_zone,
    "tagID": _tags("tagId"),
    "TagText": _tags("tagText"),
    "UtmCampaign": _sub("utmCampaign"),
    "UtmContent": _sub("utmContent"),
    "UtmMedium": _sub("utmMedium"),
    "UtmSource": _sub("utmSource"),
}


def row_values(
    details: dict[str, Any], subscription: dict[str, Any], sub_id: str
) -> dict[str, Any]:
    """The row's values this subscription webhook names, fitted to the data extension's fields;
    WebhookMalformed names a value no field can hold."""
    values: dict[str, Any] = {"CalendarSubscriptionId": sub_id}
    for name, read in READERS.items():
        raw = read(details, subscription)
        if raw is None:
            continue
        try:
            value = fit(FIELDS_BY_NAME[name], raw)
        except ValueError as exc:
            raise WebhookMalformed(f"{name}: {exc}") from None
        if isinstance(value, str) and not value.isprintable():
            # Free text comes from the subscriber (utm values from a link they opened): a NUL
            # or lone surrogate there must not cost them their row. Cleaned, not refused;
            # an email address that needed cleaning is not one.
            value = None if name == "Email" else fit(FIELDS_BY_NAME[name], plain_text(value))
        if value is not None:
            values[name] = value
    return values
