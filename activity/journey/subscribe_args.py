"""The action `subscribe`: a contact's inArguments -> a typed value -> Rokt's request body.

Execute, the pre-flight check and the preview share `parse`. Decisions:
- subscriberId defaults to the contact key (it becomes SubscriberExternalId, which the SFMC
  integration matches to the contact key, seed 001); at most 255 characters.
- emailAddress is optional; when given (after JB resolves the binding) it must look like an
  address, else the contact is `invalid` and Rokt is not called.
- subscriptionMethod defaults to WebCal; Google and Microsoft need redirectTo.
- redirectTo and the UTM values may hold placeholders. Once they are filled, redirectTo must
  be an absolute http(s) URL of at most 2048 characters, and each UTM value at most 255
  characters. Empty UTM values are left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from activity.errors import InvalidInput
from activity.events import placeholders
from activity.journey import inarguments
from activity.journey.subscribe_schema import TEXT_MAX, URL_MAX, UTM_FIELDS
from activity.rokt.subscribe_api import NEEDS_REDIRECT, WEBCAL

PLACEHOLDER_FIELDS = ("redirectTo", *UTM_FIELDS)
_EMAIL = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]+")


@dataclass(frozen=True)
class SubscribeArgs:
    mid: str
    eid: str
    on_error: str
    calendar_code: str
    subscriber_id: str
    email: str
    method: str
    redirect_to: str
    utm: tuple[tuple[str, str], ...]  # (field, value), only the non-empty ones

    def body(self) -> dict[str, Any]:
        """Create New Subscription's body (seed 003 lines 7-85), only the fields we set."""
        body: dict[str, Any] = {
            "subscriberId": self.subscriber_id,
            "subscriptionMethod": self.method,
        }
        if self.email:
            body["emailAddress"] = self.email
        if self.redirect_to:
            body["redirectTo"] = self.redirect_to
        body.update(self.utm)
        return body


def parse(merged: Mapping[str, Any], contact_key: str) -> SubscribeArgs:
    """Merged, resolved inArguments -> SubscribeArgs; InvalidInput names the wrong field."""
    inarguments.validate(merged)
    given = inarguments.present(merged)
    values = {k: v for k, v in merged.items() if k.startswith("<<")}
    filled = {
        field: placeholders.fill(placeholders.as_text(given[field]), values, field).strip()
        for field in PLACEHOLDER_FIELDS
        if field in given
    }
    subscriber = str(given.get("subscriberId", contact_key)).strip()
    if not subscriber or len(subscriber) > TEXT_MAX:
        raise InvalidInput(
            f"subscriberId is {len(subscriber)} characters; expected 1 to {TEXT_MAX} "
            "(the contact key is used when subscriberId is not set)"
        )
    method = str(given.get("subscriptionMethod", WEBCAL))
    redirect = filled.get("redirectTo", "")
    if redirect:
        redirect_url(redirect)
    elif method in NEEDS_REDIRECT:
        raise InvalidInput(
            f"redirectTo is empty; a {method} subscription needs the URL Rokt sends the person "
            "to after the consent"
        )
    for field in UTM_FIELDS:
        utm_text(filled.get(field, ""), field)
    return SubscribeArgs(
        mid=_id_text(given.get("mid")),
        eid=_id_text(given.get("eid")),
        on_error=inarguments.on_error_of(given),
        calendar_code=str(given["calendarCode"]).strip(),
        subscriber_id=subscriber,
        email=email_address(given.get("emailAddress", "")),
        method=method,
        redirect_to=redirect,
        utm=tuple((f, filled[f]) for f in UTM_FIELDS if filled.get(f)),
    )


def email_address(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if text and not _EMAIL.fullmatch(text):
        raise InvalidInput(
            f"emailAddress is {_clip(text)!r}; expected an email address such as "
            "name@example.com (or no emailAddress)"
        )
    return text


def redirect_url(text: str) -> str:
    if len(text) > URL_MAX:
        raise InvalidInput(
            f"redirectTo is {len(text)} characters; expected at most {URL_MAX}", reason="too_long"
        )
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        raise InvalidInput(
            f"redirectTo is {_clip(text)!r}; expected an absolute https:// URL such as "
            "https://example.com/calendar-added"
        )
    return text


def utm_text(text: str, field: str) -> str:
    if len(text) > TEXT_MAX:
        raise InvalidInput(
            f"{field} is {len(text)} characters; expected at most {TEXT_MAX}", reason="too_long"
        )
    return text


def _id_text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
