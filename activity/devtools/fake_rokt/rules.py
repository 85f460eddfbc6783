"""What the fake Rokt refuses, each rule with its source.

Seeds: 000 = Rokt's Braze webhook template, 002 = the Calendar API reference, 003 = Create
New Subscription's parameter table, 004 = Rokt's webhook data objects (all in the project's
seed folder). CLDR = the Unicode CLDR windowsZones table, as shipped in
activity/events/windows_zones.json. Where no public source sets a limit, the rule says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from activity.events import timezones

Problem = tuple[str, str]  # (code, reason), as in Rokt's error model (seed 002 lines 233-239)

# Seed 003 lines 40-42 and 114-117: subscription ids are UUID/GUIDs.
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# Rokt's readme.io event model (see docs/rokt.md) marks eventId, title, start and timezone
# required; seed 000 lines 176-183 mark eventId, title, start, end, timezone and notifyBefore
# required for its template. The fake requires the union that both agree on plus end.
REQUIRED_EVENT_FIELDS = ("eventId", "title", "start", "end", "timezone")
# Seed 002 lines 392-405 / 438-452 show these as strings.
TEXT_FIELDS = ("eventId", "title", "description", "location", "timezone", "timezoneIanaId")
# No public Rokt page states text limits. The fake enforces the activity's own caps
# (activity/events/plan.py) so that anything longer, which the activity must never send,
# fails loudly instead of passing silently.
TEXT_LIMITS = {"eventId": 255, "title": 255, "location": 1000, "description": 8000}
# Seed 002 lines 399-400: ISO 8601 date-times.
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?$")


def is_guid(value: Any) -> bool:
    return isinstance(value, str) and GUID.match(value) is not None


def content_type_problem(content_type: str) -> Problem | None:
    """Seed 000 line 110 and seed 002's request samples: JSON bodies go with
    `Content-Type: application/json`."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        return ("UnsupportedMediaType", "Content-Type must be application/json")
    return None


def event_problems(event: Mapping[str, Any], prefix: str) -> list[Problem]:
    """One event object as create (under "event") or update (flat or under "event") sends it."""
    problems: list[Problem] = [
        ("Required", f"{prefix}{name} is required")
        for name in REQUIRED_EVENT_FIELDS
        if not isinstance(event.get(name), str) or not event[name].strip()
    ]
    for name in TEXT_FIELDS:
        value = event.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(("InvalidType", f"{prefix}{name} must be a string"))
        elif isinstance(value, str) and len(value) > TEXT_LIMITS.get(name, 10_000):
            problems.append(("TooLong", f"{prefix}{name} is longer than {TEXT_LIMITS[name]}"))
    problems += _time_zone_problems(event, prefix)
    problems += _time_problems(event, prefix)
    # Seed 002 line 401 (allDayEvent: true): a boolean.
    if "allDayEvent" in event and not isinstance(event["allDayEvent"], bool):
        problems.append(("InvalidType", f"{prefix}allDayEvent must be a boolean"))
    # Seed 002 line 402 (notifyBefore: null) and seed 000 line 183 ("expressed in minutes"):
    # a whole number of minutes, or null. Seed 000 quotes it as a string; the fake is stricter.
    notify = event.get("notifyBefore")
    if notify is not None and (not isinstance(notify, int) or isinstance(notify, bool)):
        problems.append(("InvalidType", f"{prefix}notifyBefore must be a whole number"))
    elif isinstance(notify, int) and notify < 0:
        problems.append(("InvalidValue", f"{prefix}notifyBefore must not be negative"))
    return problems


def _time_zone_problems(event: Mapping[str, Any], prefix: str) -> list[Problem]:
    problems: list[Problem] = []
    # Seed 000 line 182 and seed 004 line 130: `timezone` is a Windows time zone name; CLDR's
    # windowsZones lists them.
    windows = event.get("timezone")
    if isinstance(windows, str) and windows.strip():
        try:
            known = timezones.resolve(windows).windows == windows
        except Exception:
            known = False
        if not known:
            problems.append(("InvalidTimezone", f"{prefix}timezone {windows!r} is unknown"))
    # Seed 004 line 131: `timezoneIanaId` is an IANA time zone name.
    iana = event.get("timezoneIanaId")
    if isinstance(iana, str) and iana:
        try:
            timezones.zone_info(iana)
        except Exception:
            problems.append(("InvalidTimezone", f"{prefix}timezoneIanaId {iana!r} is not IANA"))
    return problems


def _time_problems(event: Mapping[str, Any], prefix: str) -> list[Problem]:
    problems: list[Problem] = []
    times: dict[str, datetime] = {}
    for name in ("start", "end"):
        value = event.get(name)
        if isinstance(value, str) and value.strip():
            try:
                if not ISO.match(value):
                    raise ValueError(value)
                times[name] = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                problems.append(("InvalidDate", f"{prefix}{name} {value!r} is not an ISO date"))
    if "start" in times and "end" in times:
        start, end = (t.replace(tzinfo=None) for t in (times["start"], times["end"]))
        if end < start:
            problems.append(("InvalidDateRange", f"{prefix}end is before {prefix}start"))
    return problems


def update_event(body: Any) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The event an update body describes, in either documented shape.

    Seed 002 lines 392-405 show the fields flat; seed 000 lines 156-166 wrap them in "event".
    Both may be present (the activity sends both); then every field they share must agree.
    """
    if not isinstance(body, dict):
        return None, [("Required", "a JSON object body is required")]
    nested = body.get("event")
    flat = {k: v for k, v in body.items() if k != "event"}
    if nested is not None and not isinstance(nested, dict):
        return None, [("InvalidType", "event must be an object")]
    if nested is None:
        return flat, event_problems(flat, "")
    if "eventId" not in flat:
        return nested, event_problems(nested, "event.")
    clash = sorted(k for k in flat.keys() & nested.keys() if flat[k] != nested[k])
    if clash:
        return None, [("Conflict", f"the flat body and event disagree on {', '.join(clash)}")]
    merged = {**flat, **nested}
    return merged, event_problems(merged, "")
