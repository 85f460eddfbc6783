"""The inArguments of the action `subscribe`, as JSON Schema pieces that `inarguments.SCHEMA`
includes (one schema, one set of error sentences for every action)."""

from __future__ import annotations

from typing import Any

from activity.rokt.subscribe_api import METHODS, NEEDS_REDIRECT, SUBSCRIBE

CALENDAR_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"
TEXT_MAX = 255  # subscriberId and each UTM value, after placeholders are filled
URL_MAX = 2048  # longer links break in browsers and mail clients
EMAIL_MAX = 254  # the longest address SMTP can carry (RFC 5321)
UTM_FIELDS = ("utmSource", "utmMedium", "utmCampaign", "utmContent")

SUBSCRIBE_PROPERTIES: dict[str, Any] = {
    "calendarCode": {
        "type": "string",
        "pattern": CALENDAR_CODE_PATTERN,
        "description": "the calendar's URL slug: 1-100 letters, digits, '-' or '_'",
    },
    "subscriberId": {
        "type": "string",
        "maxLength": TEXT_MAX,
        "description": f"who the subscriber is to you, at most {TEXT_MAX} characters "
        "(default: the contact key)",
    },
    "emailAddress": {
        "type": "string",
        "maxLength": EMAIL_MAX,
        "description": f"the contact's email address, at most {EMAIL_MAX} characters",
    },
    "subscriptionMethod": {
        "enum": list(METHODS),
        "description": "one of " + ", ".join(METHODS),
    },
    "redirectTo": {
        "type": "string",
        "maxLength": URL_MAX,
        "description": "the https URL Rokt sends the person to after the "
        + " or ".join(NEEDS_REDIRECT)
        + f" consent, at most {URL_MAX} characters",
    },
    **{
        name: {"type": "string", "description": f"text of at most {TEXT_MAX} characters"}
        for name in UTM_FIELDS
    },
}

SUBSCRIBE_REQUIRED: dict[str, Any] = {
    "required": ["calendarCode"],
    "if": {
        "required": ["subscriptionMethod"],
        "properties": {"subscriptionMethod": {"enum": list(NEEDS_REDIRECT)}},
    },
    "then": {"required": ["redirectTo"]},
}

__all__ = ["SUBSCRIBE", "SUBSCRIBE_PROPERTIES", "SUBSCRIBE_REQUIRED", "UTM_FIELDS"]
