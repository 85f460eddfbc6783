"""The "Calendar Subscription" data extension: its name, key and fields.

Field names are exactly the subscription attributes of Rokt's own Marketing Cloud app (seed
001), so Contact Builder links and journeys written for that app work unchanged. Types and
lengths are ours (docs/webhooks-and-data-extension.md): the key is a GUID (Text 36),
Rokt's ids are GUIDs, free text gets room, the opt-ins are Boolean and the removal a Date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

NAME = "Calendar Subscription"
CUSTOMER_KEY = "RoktCalendarSubscription"
PRIMARY_KEY = "CalendarSubscriptionId"

TEXT = "Text"
BOOLEAN = "Boolean"
DATE = "Date"
EMAIL = "EmailAddress"


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    length: int | None = None  # MaxLength for Text and EmailAddress

    @property
    def is_primary_key(self) -> bool:
        return self.name == PRIMARY_KEY


FIELDS: tuple[Field, ...] = (
    Field("CalendarSubscriptionId", TEXT, 36),
    Field("accountCode", TEXT, 100),
    Field("accountId", TEXT, 50),
    Field("accountName", TEXT, 200),
    Field("calendarCode", TEXT, 200),
    Field("calendarId", TEXT, 50),
    Field("calendarTitle", TEXT, 500),
    Field("countryCode", TEXT, 10),
    Field("deviceName", TEXT, 100),
    Field("Email", EMAIL, 254),
    Field("EventId", TEXT, 200),
    Field("geoCountry", TEXT, 100),
    Field("optIn1", BOOLEAN),
    Field("optIn2", BOOLEAN),
    Field("Referrer", TEXT, 2000),
    Field("RemovedDateTime", DATE),
    Field("source", TEXT, 500),
    Field("SubscriberExternalId", TEXT, 254),
    Field("subscriptionMethod", TEXT, 50),
    Field("TimeZoneTag", TEXT, 100),
    Field("tagID", TEXT, 2000),
    Field("TagText", TEXT, 2000),
    Field("UtmCampaign", TEXT, 500),
    Field("UtmContent", TEXT, 500),
    Field("UtmMedium", TEXT, 500),
    Field("UtmSource", TEXT, 500),
)
FIELDS_BY_NAME = {f.name: f for f in FIELDS}

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def fit(field: Field, raw: Any) -> Any:
    """A webhook value as the field can hold it; ValueError when it cannot be one.

    Text longer than the field is cut (a long referrer must not cost the whole row); an email
    address Marketing Cloud would refuse is left out (None) rather than failing the row.
    """
    if field.type == BOOLEAN:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        raise ValueError("must be true or false")
    if isinstance(raw, dict | list | bool):
        raise ValueError("must be text")
    text = str(raw).strip()
    if field.type == EMAIL:
        return text if len(text) <= (field.length or 254) and _EMAIL.fullmatch(text) else None
    return text[: field.length] if field.length else text
