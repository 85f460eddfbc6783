"""A contact's inArguments -> the Rokt event to send. Execute and the config UI preview share
this one code path; `events.preflight` runs the same field checks on a configuration before
bindings are resolved.

The mapping is read once, by `events.config`, into typed values; rendering works on those.

Decisions:
- Text caps after placeholders are filled: title 255, location 1000, description 8000
  characters; longer text is rejected, never cut.
- notifyBefore: whole minutes 0..40320 (four weeks), default 15.
- Start and end: see `events.span`; eventScope and the Rokt eventId: see `events.config`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from activity.errors import InvalidInput
from activity.events import config, placeholders, span, subscriptions, template_cache, timezones
from activity.events.config import EventConfig
from activity.frozen import quick_init
from activity.journey.inarguments import present
from activity.rokt.api_requests import (
    CANCEL,
    REMOVE,
    UNSUBSCRIBE,
    RoktRequest,
    canonical_json,
    requests_for,
)

TEXT_LIMITS = {"title": 255, "location": 1000, "description": 8000}
PLACEHOLDER_FIELDS = ("title", "description", "location", "start", "end", "timezone")
SAMPLE_SUBSCRIPTION_ID = "00000000-0000-4000-8000-000000000001"


@quick_init
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


def plan(merged: Mapping[str, Any], contact_key: str) -> EventPlan:
    """Merged, resolved inArguments -> what to send; InvalidInput says which field is wrong.

    Every contact of a journey activity sends the same event fields, so the parsed
    configuration and the rendered event are remembered per distinct set of inArguments other
    than the contact's own subscription IDs (which are parsed on every call). Errors are never
    remembered.
    """
    subscription = merged.get(subscriptions.FIELD)
    base = template_cache.base_key(merged)
    template = template_cache.recall(template_cache.template_key(merged, base))
    # The schema only types calendarSubscriptionId (string or array): with every other
    # inArgument as remembered, these types cannot make the contact invalid.
    if template is None or type(subscription) not in (str, list, type(None)):
        parsed = config.parse(merged)
        # Bound before rendering, so errors come in the order they always did.
        contact = config.bind(parsed, contact_key, subscription)
        template = _template(parsed)
        if base is not None:
            template_cache.remember(base, merged, template)
    else:
        contact = config.bind(template.config, contact_key, subscription)
    # Rendered once per template; only a contact-scoped eventId changes the payload.
    event, event_id = template.config, contact.event_id
    payload, payload_json, key_hash = template.payload, template.payload_json, template.batch_key
    if event_id != event.event_id:
        payload = {**payload, "eventId": event_id}
        payload_json = canonical_json(payload)
        key_hash = batch_key(event.action, payload_json)
    return EventPlan(
        action=event.action,
        mid=event.mid,
        eid=event.eid,
        on_error=event.on_error,
        event_id=event_id,
        payload=payload,
        subscription_ids=contact.subscription_ids,
        batch_key=key_hash,
        start_utc=template.start_utc,
        end_utc=template.end_utc,
        payload_json=payload_json,
    )


def _template(event: EventConfig) -> template_cache.Template:
    payload: dict[str, Any] = {"eventId": event.event_id}
    if event.action == UNSUBSCRIBE:  # the contact leaves the calendar: no event at all
        payload = {"calendarCode": event.calendar_code}
    start_utc = end_utc = None
    if event.action not in (REMOVE, CANCEL, UNSUBSCRIBE):
        payload, start_utc, end_utc = _render(event)
    payload_json = canonical_json(payload)
    return template_cache.Template(
        config=event,
        payload=payload,
        payload_json=payload_json,
        batch_key=batch_key(event.action, payload_json),
        start_utc=start_utc,
        end_utc=end_utc,
    )


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
        elif is_binding(value) and name in samples:
            merged[name] = samples[name]
    subscription = merged.get("calendarSubscriptionId")
    if is_binding(subscription) or not _names_a_subscription(subscription):
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


def _render(event: EventConfig) -> tuple[dict[str, Any], str, str]:
    filled = {
        field: placeholders.fill(text, event.values, field).strip()
        for field, text in (
            ("title", event.title),
            ("description", event.description),
            ("location", event.location),
            ("start", event.start),
            ("end", event.end),
            ("timezone", event.timezone),
        )
    }
    texts = {field: text_field(filled[field], field) for field in TEXT_LIMITS}
    if not texts["title"]:
        raise InvalidInput("title is empty after filling placeholders; expected the event title")
    zone = timezones.resolve(filled["timezone"])
    all_day = event.all_day
    start = span.wall_time(filled["start"], "start", all_day)
    end = span.wall_time(filled["end"], "end", all_day) if filled["end"] else None
    end_is_date = span.is_date(filled["end"])
    start_local, end_local, start_utc, end_utc = span.span(start, end, zone, all_day, end_is_date)
    payload = {
        "eventId": event.event_id,
        "title": texts["title"],
        "description": texts["description"],
        "location": texts["location"],
        "timezone": zone.windows,
        "timezoneIanaId": zone.iana,
        "start": start_local.isoformat(timespec="seconds"),
        "end": end_local.isoformat(timespec="seconds"),
        "allDayEvent": all_day,
        "notifyBefore": event.notify_before,
    }
    return payload, span.iso_utc(start_utc), span.iso_utc(end_utc)


def text_field(value: Any, field: str) -> str:
    """A title, location or description within its cap (after placeholders are filled)."""
    text = placeholders.as_text(value).strip()
    limit = TEXT_LIMITS[field]
    if len(text) > limit:
        raise InvalidInput(
            f"{field} is {len(text)} characters; expected at most {limit}", reason="too_long"
        )
    return text


def is_binding(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value
