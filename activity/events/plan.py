"""A contact's inArguments -> the Rokt event to send. Execute and the config UI preview share
this one code path; `problems` runs the same field checks on a configuration before bindings
are resolved.

Decisions:
- Text caps after placeholders are filled: title 255, location 1000, description 8000
  characters; longer text is rejected, never cut.
- notifyBefore: whole minutes 0..40320 (four weeks), default 15.
- Times are local wall times in `timezone`, sent to Rokt as "YYYY-MM-DDTHH:MM:SS". A time in a
  DST gap (it never happens on the clock) is rejected; an ambiguous time in a DST overlap
  means its first occurrence (for the UTC preview; Rokt gets the wall time as written).
- All-day events cover the days from start's date to end's date, inclusive: start is sent as
  00:00:00 of its date, end as 00:00:00 of the day after end's date (iCalendar's exclusive
  end). An end given with a time of exactly 00:00 on a later day is taken as already
  exclusive. Without an end an all-day event lasts one day; dates may omit the time.
- eventScope contact: the Rokt eventId is "{eventId}_{contact key}"; the contact key must be
  printable without spaces, '/' or '\\', and the whole id at most 255 characters.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from cachetools import LRUCache

from activity.errors import InvalidInput
from activity.events import placeholders, subscriptions, timezones
from activity.journey import inarguments
from activity.journey.inarguments import CONTINUE, EJECT, on_error_of, present
from activity.rokt.api_requests import (
    ACTIONS,
    CANCEL,
    CREATE,
    REMOVE,
    UNSUBSCRIBE,
    RoktRequest,
    canonical_json,
    requests_for,
)

SHARED = "shared"
CONTACT = "contact"
SCOPES = (SHARED, CONTACT)
NOTIFY_DEFAULT = 15
TEXT_LIMITS = {"title": 255, "location": 1000, "description": 8000}
EVENT_ID_MAX = 255
PLACEHOLDER_FIELDS = ("title", "description", "location", "start", "end", "timezone")
SAMPLE_SUBSCRIPTION_ID = "00000000-0000-4000-8000-000000000001"
WALL_TIME = "YYYY-MM-DDTHH:MM[:SS]"

_WALL = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,7})?)?)?")
_CONTACT_KEY = re.compile(r"[^\s/\\\x00-\x1f\x7f]+")
_MISSING = {
    "mid": "mid is missing; expected the business unit MID (or eid)",
    "eventId": "eventId is missing; expected the marketer's event identifier",
    "calendarSubscriptionId": "calendarSubscriptionId has no source; expected a binding such "
    'as {{Contact.Attribute."Calendar Subscription"."CalendarSubscriptionId"}}',
    "title": "title is missing; expected the event title",
    "start": f"start is missing; expected a local time {WALL_TIME}",
    "end": f"end is missing; expected a local time {WALL_TIME}",
    "timezone": "timezone is missing; expected a Windows time zone name or an IANA id",
    "calendarCode": "calendarCode is missing; expected the calendar's URL slug, e.g. my-calendar",
}
T = TypeVar("T")


@dataclass(frozen=True)
class EventPlan:
    action: str  # create | update | remove | cancel | unsubscribe
    mid: str
    eid: str
    on_error: str  # continue | eject
    event_id: str  # after eventScope; "" for unsubscribe
    payload: dict[str, Any]  # the Rokt event object ({"calendarCode": ...} for unsubscribe)
    subscription_ids: tuple[str, ...]
    batch_key: str  # equal for equal (action, payload)
    start_utc: str | None
    end_utc: str | None
    payload_json: str = dataclasses.field(default="", compare=False)  # canonical_json(payload)


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


def plan(merged: Mapping[str, Any], contact_key: str) -> EventPlan:
    """Merged, resolved inArguments -> what to send; InvalidInput says which field is wrong.

    Every contact of a journey activity sends the same event fields, so the validated,
    rendered event is remembered per distinct set of inArguments other than the contact's
    own subscription IDs (which are parsed on every call). Errors are never remembered.
    """
    subscription = merged.get(subscriptions.FIELD)
    key = _template_key(merged)
    remembered = _TEMPLATES.get(key) if key is not None else None
    template = remembered.template if remembered is not None else None
    # The schema only types calendarSubscriptionId (string or array): with every other
    # inArgument as remembered, these types cannot make the contact invalid.
    if template is None or type(subscription) not in (str, list, type(None)):
        inarguments.validate(merged)
        given = present(merged)
        # Checked before rendering, so errors come in the order they always did.
        if given.get("action") != UNSUBSCRIBE:
            scoped_event_id(given["eventId"], given.get("eventScope", CONTACT), contact_key)
        subscriptions.parse(given.get(subscriptions.FIELD))
        template = _template(merged, given)
        if key is not None:
            _remember(key, template)
    event_id = (
        scoped_event_id(template.event_id, template.scope, contact_key) if template.event_id else ""
    )
    ids = subscriptions.parse(subscription)
    payload, payload_json, key_hash = template.payload, template.payload_json, template.batch_key
    if event_id != template.event_id:
        payload = {**payload, "eventId": event_id}
        payload_json = canonical_json(payload)
        key_hash = batch_key(template.action, payload_json)
    return EventPlan(
        action=template.action,
        mid=template.mid,
        eid=template.eid,
        on_error=template.on_error,
        event_id=event_id,
        payload=payload,
        subscription_ids=ids,
        batch_key=key_hash,
        start_utc=template.start_utc,
        end_utc=template.end_utc,
        payload_json=payload_json,
    )


@dataclass(frozen=True)
class _Template:
    """What a set of inArguments plans to, before the contact key and subscription IDs."""

    action: str
    scope: str
    mid: str
    eid: str
    on_error: str
    event_id: str  # unscoped
    payload: dict[str, Any]  # read-only: shared by every plan made from this template
    payload_json: str
    batch_key: str
    start_utc: str | None
    end_utc: str | None


# Bounded by bytes, not entries: inArguments may be large (an extra 150 KB field each), and a
# count bound would then let the cache grow past the memory target.
TEMPLATE_CACHE_BYTES = 16 * 1024 * 1024
_ENTRY_OVERHEAD_BYTES = 1024  # the key tuple, the dataclass, the payload dict's own tables


@dataclass(frozen=True)
class _Remembered:
    template: _Template
    size: int  # estimated bytes held by the key and the template


def _footprint(key: tuple[Any, ...], template: _Template) -> int:
    held = sum(sys.getsizeof(name) + sys.getsizeof(value) for name, _, value in key)
    # The payload's strings are about as large as its JSON, which is kept too.
    return _ENTRY_OVERHEAD_BYTES + held + 2 * sys.getsizeof(template.payload_json)


_TEMPLATES: LRUCache[tuple[Any, ...], _Remembered] = LRUCache(
    maxsize=TEMPLATE_CACHE_BYTES, getsizeof=lambda remembered: remembered.size
)


def _remember(key: tuple[Any, ...], template: _Template) -> None:
    size = _footprint(key, template)
    if size <= TEMPLATE_CACHE_BYTES // 64:  # one huge template may not flush everyone else's
        _TEMPLATES[key] = _Remembered(template, size)


def template_cache_bytes() -> tuple[int, int]:
    """(estimated bytes held, bound): for tests and diagnostics."""
    return int(_TEMPLATES.currsize), int(_TEMPLATES.maxsize)


def forget_templates() -> None:
    """Empty the template cache (tests compare a remembered plan with a fresh one)."""
    _TEMPLATES.clear()


def _template_key(merged: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """Hashable and exact (True, 1 and 1.0 differ), or None when a value is not hashable."""
    key = tuple(
        (name, type(value), value) for name, value in merged.items() if name != subscriptions.FIELD
    )
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _template(merged: Mapping[str, Any], given: Mapping[str, Any]) -> _Template:
    action = str(given.get("action", CREATE))
    scope = inarguments.choice(given.get("eventScope", CONTACT), SCOPES, "eventScope")
    start_utc = end_utc = None
    if action == UNSUBSCRIBE:  # the contact leaves the calendar: no event at all
        event_id = ""
        payload: dict[str, Any] = {"calendarCode": inarguments.calendar_code(given["calendarCode"])}
    else:
        event_id = inarguments.event_id(given["eventId"])
        payload = {"eventId": event_id}
    if action not in (REMOVE, CANCEL, UNSUBSCRIBE):
        values = {k: v for k, v in merged.items() if k.startswith("<<")}
        payload, start_utc, end_utc = _render(given, values, event_id)
    payload_json = canonical_json(payload)
    return _Template(
        action=action,
        scope=scope,
        mid=_id_text(given.get("mid")),
        eid=_id_text(given.get("eid")),
        on_error=on_error_of(given),
        event_id=event_id,
        payload=payload,
        payload_json=payload_json,
        batch_key=batch_key(action, payload_json),
        start_utc=start_utc,
        end_utc=end_utc,
    )


def problems(arguments: Mapping[str, Any]) -> list[Problem]:
    """Pre-flight for the config UI: the issues visible before JB resolves bindings.

    Values holding a `{{binding}}` or a `<<placeholder>>` are only checked for presence.
    """
    if not isinstance(arguments, Mapping):
        return [Problem("inArguments", "inArguments is not an object; expected an object")]
    raw = {str(k): v for k, v in arguments.items()}
    given = present(raw)
    literal = {k: v for k, v in given.items() if _is_literal(v)}
    found: list[Problem] = []

    def check(field: str, parse: Callable[..., T], *extra: Any) -> T | None:
        if field not in literal:
            return None
        try:
            return parse(literal[field], *extra)
        except InvalidInput as error:
            found.append(Problem(field, error.message))
            return None

    action = check("action", inarguments.choice, ACTIONS, "action") or CREATE
    timed = action not in (REMOVE, CANCEL, UNSUBSCRIBE)
    required = ["calendarCode" if action == UNSUBSCRIBE else "eventId", "calendarSubscriptionId"]
    required += ["title", "start", "timezone"] if timed else []
    if not given.keys() & {"mid", "eid"}:
        found.append(Problem("mid", _MISSING["mid"]))
    found += [Problem(field, _MISSING[field]) for field in required if field not in given]
    if action == UNSUBSCRIBE:
        check("calendarCode", inarguments.calendar_code)
    else:
        check("eventId", inarguments.event_id)
    check("eventScope", inarguments.choice, SCOPES, "eventScope")
    check("onError", inarguments.choice, (CONTINUE, EJECT), "onError")
    check("notifyBefore", inarguments.notify_before)
    check("calendarSubscriptionId", subscriptions.parse)
    all_day = check("allDay", inarguments.all_day) or False
    if not timed:
        return found
    for field in PLACEHOLDER_FIELDS:
        for name in placeholders.names(given.get(field, "")):
            if placeholders.key(name) not in raw:
                message = placeholders.unknown(name, field).message
                found.append(Problem(field, message))
    for field in TEXT_LIMITS:
        check(field, _text, field)
    zone = check("timezone", timezones.resolve)
    start = check("start", _wall_time, "start", all_day)
    end = check("end", _wall_time, "end", all_day)
    if "end" not in given and not all_day:
        found.append(Problem("end", _MISSING["end"]))
    if zone is not None and start is not None and (end is not None or "end" not in given):
        try:
            _span(start, end, zone, all_day, _is_date(literal.get("end")))
        except InvalidInput as error:
            field = "start" if error.message.startswith("start ") else "end"
            found.append(Problem(field, error.message))
    return found


def preview(
    arguments: Mapping[str, Any], samples: Mapping[str, Any], contact_key: str = "SampleContact"
) -> tuple[EventPlan, list[RoktRequest]]:
    """The configuration rendered with sample values, through the same `plan` as execute.

    `<<X>>` inArguments take samples["<<X>>"] (or samples["X"]); any other value that is a
    binding takes samples[key] when given; a bound calendarSubscriptionId becomes a sample GUID.
    """
    if not isinstance(arguments, Mapping) or not isinstance(samples, Mapping):
        raise InvalidInput("arguments and samples must be objects; expected two objects")
    merged = {str(k): v for k, v in arguments.items()}
    for name, value in merged.items():
        if name.startswith("<<") and name.endswith(">>"):
            merged[name] = samples.get(name, samples.get(name[2:-2]))
        elif _is_binding(value) and name in samples:
            merged[name] = samples[name]
    subscription = merged.get("calendarSubscriptionId")
    if _is_binding(subscription) or not _names_a_subscription(subscription):
        merged["calendarSubscriptionId"] = SAMPLE_SUBSCRIPTION_ID
    if not present(merged).keys() & {"mid", "eid"}:
        merged["mid"] = str(samples.get("mid") or "preview")
    result = plan(merged, contact_key)
    account = str(samples.get("accountCode") or "your-account")
    return result, requests_for(result.action, account, result.payload, result.subscription_ids)


def _names_a_subscription(value: Any) -> bool:
    """False for an empty source ("", [], "[]"); a malformed one is left for plan() to report."""
    try:
        return bool(subscriptions.parse(value))
    except InvalidInput:
        return True


def batch_key(action: str, payload_json: str) -> str:
    """Equal for equal (action, canonical_json(event))."""
    return hashlib.sha256(f"{action}\n{payload_json}".encode()).hexdigest()


def scoped_event_id(event_id: Any, scope: Any, contact_key: str) -> str:
    base = inarguments.event_id(event_id)
    if inarguments.choice(scope, SCOPES, "eventScope") == SHARED:
        return base
    key = contact_key if isinstance(contact_key, str) else ""
    if not _CONTACT_KEY.fullmatch(key):
        raise InvalidInput(
            f"eventScope is contact but the contact key {_clip(key)!r} cannot be part of a Rokt "
            "eventId; expected a contact key without spaces, '/' or '\\' (or eventScope shared)"
        )
    scoped = f"{base}_{key}"
    if len(scoped) > EVENT_ID_MAX:
        raise InvalidInput(
            f"eventId with the contact key is {len(scoped)} characters; expected at most "
            f"{EVENT_ID_MAX} (shorten eventId or use eventScope shared)"
        )
    return scoped


def _render(
    given: Mapping[str, Any], values: Mapping[str, Any], event_id: str
) -> tuple[dict[str, Any], str, str]:
    filled = {
        field: placeholders.fill(placeholders.as_text(given[field]), values, field).strip()
        for field in PLACEHOLDER_FIELDS
        if field in given
    }
    texts = {field: _text(filled.get(field, ""), field) for field in TEXT_LIMITS}
    if not texts["title"]:
        raise InvalidInput("title is empty after filling placeholders; expected the event title")
    zone = timezones.resolve(filled.get("timezone", ""))
    all_day = inarguments.all_day(given.get("allDay", False))
    start = _wall_time(filled.get("start", ""), "start", all_day)
    end = _wall_time(filled["end"], "end", all_day) if filled.get("end") else None
    end_is_date = _is_date(filled.get("end"))
    start_local, end_local, start_utc, end_utc = _span(start, end, zone, all_day, end_is_date)
    payload = {
        "eventId": event_id,
        "title": texts["title"],
        "description": texts["description"],
        "location": texts["location"],
        "timezone": zone.windows,
        "timezoneIanaId": zone.iana,
        "start": start_local.isoformat(timespec="seconds"),
        "end": end_local.isoformat(timespec="seconds"),
        "allDayEvent": all_day,
        "notifyBefore": inarguments.notify_before(given.get("notifyBefore", NOTIFY_DEFAULT)),
    }
    return payload, _iso_utc(start_utc), _iso_utc(end_utc)


def _span(
    start: datetime,
    end: datetime | None,
    zone: timezones.Zone,
    all_day: bool,
    end_is_date: bool = False,
) -> tuple[datetime, datetime, datetime, datetime]:
    """Local start and end as sent, and their UTC instants; checks order and DST gaps."""
    if all_day:
        first = start.date()
        last = end.date() if end is not None else first
        exclusive = end is not None and not end_is_date and end.time() == time(0) and last > first
        start = datetime.combine(first, time(0))
        end = datetime.combine(last if exclusive else last + timedelta(days=1), time(0))
    elif end is None:
        raise InvalidInput(_MISSING["end"])
    # All-day midnights may fall in a DST gap (e.g. America/Santiago); they are dates, not times.
    start_utc = timezones.to_utc(start, zone, field="start", strict=not all_day)
    end_utc = timezones.to_utc(end, zone, field="end", strict=not all_day)
    if end_utc < start_utc:
        raise InvalidInput(
            f"end {end.isoformat(timespec='minutes')} is before start "
            f"{start.isoformat(timespec='minutes')}; expected an end at or after the start"
        )
    return start, end, start_utc, end_utc


def _wall_time(value: Any, field: str, all_day: bool) -> datetime:
    text = value.strip() if isinstance(value, str) else ""
    match = _WALL.fullmatch(text)
    expected = f"expected a local time {WALL_TIME}" + (" or a date YYYY-MM-DD" if all_day else "")
    if match is None:
        shown = _clip(text) if isinstance(value, str) else placeholders.as_text(value)
        raise InvalidInput(f"{field} is {_clip(shown)!r}; {expected}")
    year, month, day, hour, minute, second = match.groups()
    if hour is None and not all_day:
        raise InvalidInput(f"{field} is {text!r}, a date without a time; {expected} (or allDay)")
    try:
        day_ = date(int(year), int(month), int(day))
        clock = time(int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        raise InvalidInput(f"{field} is {text!r}, not a real date or time; {expected}") from None
    return datetime.combine(day_, clock)


def _is_date(value: Any) -> bool:
    match = _WALL.fullmatch(value.strip()) if isinstance(value, str) else None
    return match is not None and match.group(4) is None


def _text(value: Any, field: str) -> str:
    text = placeholders.as_text(value).strip()
    limit = TEXT_LIMITS[field]
    if len(text) > limit:
        raise InvalidInput(
            f"{field} is {len(text)} characters; expected at most {limit}", reason="too_long"
        )
    return text


def _is_binding(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _is_literal(value: Any) -> bool:
    return not _is_binding(value) and not placeholders.has_placeholders(value)


def _id_text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _iso_utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
