"""Rokt's Create New Subscription (seed 003): the request we send and what we read back.

`POST /v2/subscribe/{accountCode}/{calendarCode}` with the subscriber's details. A WebCal
answer carries `subscriptionId` and `subscriptionUrl` (the webcal:// link to open). A new
Google or Microsoft subscription needs the person's consent first, so its answer carries
`redirectTo` (the consent form) and no ID yet; an existing one carries the ID and no URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from activity.errors import RoktRetryable
from activity.rokt.api_requests import RoktRequest

SUBSCRIBE = "subscribe"
WEBCAL = "WebCal"
GOOGLE = "Google"
MICROSOFT = "Microsoft"
METHODS = (WEBCAL, GOOGLE, MICROSOFT)
NEEDS_REDIRECT = (GOOGLE, MICROSOFT)
# Seed 003 lines 114-117: subscription ids are UUID/GUIDs. Links: webcal:// for WebCal, https:// for
# the Google/Microsoft consent form (http:// for the fake on a development machine).
GUID = re.compile(r"[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}")
LINK_SCHEMES = ("webcal://", "https://", "http://")
MAX_URL_LENGTH = 2000


@dataclass(frozen=True)
class Subscribed:
    """What execute hands to the next activity."""

    subscription_id: str  # "" for a new Google/Microsoft subscription awaiting consent
    url: str  # the webcal:// link, or the consent form for a new Google/Microsoft one
    is_new: bool
    subscription_type: str


def subscribe_request(
    account_code: str, calendar_code: str, body: Mapping[str, Any]
) -> RoktRequest:
    account = quote(account_code, safe="")
    calendar = quote(calendar_code, safe="")
    return RoktRequest(SUBSCRIBE, "POST", f"/v2/subscribe/{account}/{calendar}", dict(body))


def subscribed(answer: Mapping[str, Any]) -> Subscribed:
    """Rokt's successful answer -> Subscribed. An answer that names neither a subscription
    nor a link is Rokt misbehaving: retryable, so JB tries again rather than emailing a
    contact an empty link."""
    subscription_id = _text(answer.get("subscriptionId"))
    url = _text(answer.get("subscriptionUrl")) or _text(answer.get("redirectTo"))
    if not subscription_id and not url:
        raise RoktRetryable(
            "Rokt answered Create Subscription with neither a subscriptionId nor a URL"
        )
    # Both go to JB as out-arguments and into an email: a value that is not an id or a link
    # is Rokt misbehaving, and is not handed on.
    if subscription_id and not GUID.fullmatch(subscription_id):
        raise RoktRetryable(
            "Rokt answered Create Subscription with a subscriptionId that is "
            f"not a GUID ({len(subscription_id)} characters)"
        )
    if url and (
        len(url) > MAX_URL_LENGTH
        or not url.lower().startswith(LINK_SCHEMES)
        or not url.isprintable()
        or " " in url
    ):
        raise RoktRetryable(
            "Rokt answered Create Subscription with a link that is not a "
            f"webcal, https or http URL of at most {MAX_URL_LENGTH} characters"
        )
    return Subscribed(
        subscription_id=subscription_id,
        url=url,
        is_new=answer.get("isNewSubscription") is not False,
        subscription_type=_text(answer.get("subscriptionType")),
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
