"""The config UI's pre-flight check and preview for the action `subscribe`.

Both work on the configuration before JB resolves bindings: `problems` checks only literal
values (a `{{binding}}` or a `<<placeholder>>` is checked for presence); `preview` fills
bindings and placeholders with sample values and goes through `subscribe_args.parse`, the
same code as execute, to the exact Rokt request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from activity.errors import InvalidInput
from activity.events import placeholders
from activity.events.preflight import Problem
from activity.journey import inarguments, subscribe_args
from activity.journey.inarguments import CONTINUE, EJECT, present
from activity.journey.subscribe_schema import UTM_FIELDS
from activity.rokt.api_requests import RoktRequest
from activity.rokt.subscribe_api import METHODS, NEEDS_REDIRECT, WEBCAL, subscribe_request

SAMPLE_EMAIL = "ada@example.com"
_MISSING = {
    "mid": "mid is missing; expected the business unit MID (or eid)",
    "calendarCode": "calendarCode is missing; expected the calendar's URL slug, e.g. my-calendar",
}


def problems(arguments: Mapping[str, Any]) -> list[Problem]:
    raw = {str(k): v for k, v in arguments.items()}
    given = present(raw)
    literal = {k: v for k, v in given.items() if _is_literal(v)}
    found: list[Problem] = []

    def check(field: str, parse: Callable[..., Any], *extra: Any) -> None:
        if field in literal:
            try:
                parse(literal[field], *extra)
            except InvalidInput as error:
                found.append(Problem(field, error.message))

    if not given.keys() & {"mid", "eid"}:
        found.append(Problem("mid", _MISSING["mid"]))
    if "calendarCode" not in given:
        found.append(Problem("calendarCode", _MISSING["calendarCode"]))
    check("calendarCode", inarguments.calendar_code)
    check("subscriptionMethod", inarguments.choice, METHODS, "subscriptionMethod")
    check("onError", inarguments.choice, (CONTINUE, EJECT), "onError")
    check("emailAddress", subscribe_args.email_address)
    method = given.get("subscriptionMethod", WEBCAL)
    if method in NEEDS_REDIRECT and "redirectTo" not in given:
        found.append(
            Problem(
                "redirectTo",
                f"redirectTo is missing; a {method} subscription needs the https URL Rokt "
                "sends the person to after the consent",
            )
        )
    check("redirectTo", subscribe_args.redirect_url)
    for field in ("redirectTo", *UTM_FIELDS):
        for name in placeholders.names(given.get(field, "")):
            if placeholders.key(name) not in raw:
                found.append(Problem(field, placeholders.unknown(name, field).message))
    for field in UTM_FIELDS:
        check(field, _utm, field)
    return found


def _utm(value: Any, field: str) -> str:
    return subscribe_args.utm_text(placeholders.as_text(value).strip(), field)


def preview(
    arguments: Mapping[str, Any], samples: Mapping[str, Any], contact_key: str
) -> tuple[subscribe_args.SubscribeArgs, RoktRequest]:
    """The configuration with sample values, parsed as execute parses it."""
    merged = {str(k): v for k, v in arguments.items()}
    for name, value in merged.items():
        if name.startswith("<<") and name.endswith(">>"):
            merged[name] = samples.get(name, samples.get(name[2:-2]))
        elif _is_binding(value):
            merged[name] = samples.get(name, SAMPLE_EMAIL if name == "emailAddress" else "")
    if not present(merged).keys() & {"mid", "eid"}:
        merged["mid"] = str(samples.get("mid") or "preview")
    parsed = subscribe_args.parse(merged, contact_key)
    account = str(samples.get("accountCode") or "your-account")
    return parsed, subscribe_request(account, parsed.calendar_code, parsed.body())


def _is_binding(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _is_literal(value: Any) -> bool:
    return not _is_binding(value) and not placeholders.has_placeholders(value)
