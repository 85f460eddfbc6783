"""What the fake Rokt's Create New Subscription accepts: the body's fields and their types, the
subscription methods, and the checks seed 003 describes (each cites its lines)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

WEBCAL = "WebCal"
GOOGLE = "Google"
MICROSOFT = "Microsoft"
METHODS = (WEBCAL, GOOGLE, MICROSOFT)  # seed 003 line 81: "can only be WebCal, Google or Microsoft"
NEEDS_CONSENT = (GOOGLE, MICROSOFT)
# Seed 003 lines 7-85: every documented body field and its JSON type.
STRING_FIELDS = (
    "subscriberId",  # lines 8-11
    "emailAddress",  # lines 12-15
    "redirectTo",  # lines 20-23
    "timeZoneId",  # lines 32-37
    "utmSource",  # lines 48-51
    "utmMedium",  # lines 52-55
    "utmContent",  # lines 56-59
    "utmCampaign",  # lines 60-63
    "userAgent",  # lines 64-69
    "urlReferrer",  # lines 70-73
    "ipAddress",  # lines 74-77
    "subscriptionMethod",  # lines 78-81
)
LIST_FIELDS = (
    "calendarTags",  # lines 24-31
    "requestEventIds",  # lines 38-43, GUIDs
    "externalEventIds",  # lines 44-47, strings
    "Events",  # lines 82-85
)
BOOL_FIELDS = ("additionalOptIn",)  # lines 16-19
KNOWN_FIELDS = frozenset(STRING_FIELDS + LIST_FIELDS + BOOL_FIELDS)
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
Errors = list[tuple[str, str]]


def method_of(body: dict[str, Any]) -> str:
    method = body.get("subscriptionMethod")
    if isinstance(method, str) and method:
        return method
    # Line 67: without a method, the user agent decides between WebCal and Google.
    return GOOGLE if "android" in str(body.get("userAgent", "")).lower() else WEBCAL


def body_errors(body: Any) -> Errors:
    if not isinstance(body, dict):
        return [("InvalidBody", "the body must be a JSON object")]
    errors: Errors = [
        ("UnknownField", f"{name} is not a Create Subscription field")
        for name in body
        if name not in KNOWN_FIELDS
    ]
    errors += type_errors(body)
    if errors:
        return errors
    method = body.get("subscriptionMethod")
    if method in (None, "") and not body.get("userAgent"):
        # Lines 69 and 80: the method is required unless a userAgent lets Rokt choose.
        errors.append(("Required", "subscriptionMethod is required when userAgent is not given"))
    elif method not in (None, "") and method not in METHODS:
        errors.append(
            ("InvalidSubscriptionMethod", "subscriptionMethod can only be " + ", ".join(METHODS))
        )
    redirect = body.get("redirectTo")
    if method_of(body) in NEEDS_CONSENT and not redirect:
        # Lines 20-23 and 178: Rokt sends the person back to redirectTo after the consent.
        errors.append(("Required", f"redirectTo is required for a {method_of(body)} subscription"))
    if redirect and not absolute_url(str(redirect)):
        errors.append(("InvalidRedirectTo", "redirectTo must be an absolute http(s) URL"))
    email = body.get("emailAddress")
    if email and not EMAIL.match(str(email)):
        errors.append(("InvalidEmailAddress", f"emailAddress {email!r} is not an email address"))
    for event_id in body.get("requestEventIds") or []:
        if not isinstance(event_id, str) or not GUID.match(event_id):
            errors.append(("InvalidRequestEventId", f"requestEventIds: {event_id!r} is not a GUID"))
    return errors


def type_errors(body: dict[str, Any]) -> Errors:
    errors: Errors = []
    for name in STRING_FIELDS:
        if body.get(name) is not None and not isinstance(body[name], str):
            errors.append(("InvalidType", f"{name} must be a string"))
    for name in LIST_FIELDS:
        if body.get(name) is not None and not isinstance(body[name], list):
            errors.append(("InvalidType", f"{name} must be an array"))
    for name in BOOL_FIELDS:
        if body.get(name) is not None and not isinstance(body[name], bool):
            errors.append(("InvalidType", f"{name} must be a boolean"))
    return errors


def absolute_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
