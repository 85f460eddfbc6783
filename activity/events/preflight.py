"""The config UI's pre-flight: the field checks `events.plan` makes, run on a configuration
before Journey Builder resolves its bindings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from activity.errors import InvalidInput
from activity.events import placeholders, span, subscriptions, timezones
from activity.events.config import SCOPES
from activity.events.plan import PLACEHOLDER_FIELDS, TEXT_LIMITS, is_binding, text_field
from activity.journey import inarguments
from activity.journey.inarguments import CONTINUE, EJECT, present
from activity.rokt.api_requests import ACTIONS, CANCEL, CREATE, REMOVE, UNSUBSCRIBE

MISSING = {
    "mid": "mid is missing; expected the business unit MID (or eid)",
    "eventId": "eventId is missing; expected the marketer's event identifier",
    "calendarSubscriptionId": "calendarSubscriptionId has no source; expected a binding such "
    'as {{Contact.Attribute."Calendar Subscription"."CalendarSubscriptionId"}}',
    "title": "title is missing; expected the event title",
    "start": f"start is missing; expected a local time {span.WALL_TIME}",
    "end": span.MISSING_END,
    "timezone": "timezone is missing; expected a Windows time zone name or an IANA id",
    "calendarCode": "calendarCode is missing; expected the calendar's URL slug, e.g. my-calendar",
}
T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


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
        found.append(Problem("mid", MISSING["mid"]))
    found += [Problem(field, MISSING[field]) for field in required if field not in given]
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
        check(field, text_field, field)
    zone = check("timezone", timezones.resolve)
    start = check("start", span.wall_time, "start", all_day)
    end = check("end", span.wall_time, "end", all_day)
    if "end" not in given and not all_day:
        found.append(Problem("end", MISSING["end"]))
    if zone is not None and start is not None and (end is not None or "end" not in given):
        try:
            span.span(start, end, zone, all_day, span.is_date(literal.get("end")))
        except InvalidInput as error:
            field = "start" if error.message.startswith("start ") else "end"
            found.append(Problem(field, error.message))
    return found


def _is_literal(value: Any) -> bool:
    return not is_binding(value) and not placeholders.has_placeholders(value)
