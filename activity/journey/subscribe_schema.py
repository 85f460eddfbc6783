"""The inArguments of the action `subscribe`, as JSON Schema pieces that `inarguments.SCHEMA`
includes (one schema, one set of error sentences for every action)."""

from __future__ import annotations

from typing import Any

from activity.rokt.subscribe_api import METHODS, NEEDS_REDIRECT, SUBSCRIBE

CALENDAR_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"
TEXT_MAX = 255  # subscriberId and each UTM value, after placeholders are filled
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
    "emailAddress": {"type": "string", "description": "the contact's email address"},
    "subscriptionMethod": {
        "enum": list(METHODS),
        "description": "one of " + ", ".join(METHODS),
    },
    "redirectTo": {
        "type": "string",
        "description": "the https URL Rokt sends the person to after the "
        + " or ".join(NEEDS_REDIRECT)
        + " consent",
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
