"""A contact's merged inArguments, parsed once into typed, frozen values.

`parse` turns the mapping into an `EventConfig`: the activity's configuration (action, scope,
ids, the texts and times as configured, allDay, notifyBefore, onError) together with the
contact's `<<placeholder>>` bindings. Every contact of a journey activity with the same
bindings shares one `EventConfig`, so `events.plan` remembers the rendered event per config.
`bind` adds what is the contact's own and is read on every call: the contact key, the scoped
Rokt eventId and the calendar subscription IDs. Rendering reads these values, never the
mapping again.

Errors keep the order they always had: the schema's sentences first, then the contact key's
fit into the eventId, then the subscription IDs, then whatever rendering finds.

eventScope contact: the Rokt eventId is "{eventId}_{contact key}"; the contact key must be
printable without spaces, '/' or '\\'. An id longer than 255 characters is never cut (two
contact keys that differ late would share an event): it becomes its first 222 characters, "~"
and 32 hex digits of the SHA-256 of the whole id (`activity.ids.fit`), exactly 255 characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from activity import ids
from activity.errors import InvalidInput
from activity.events import placeholders, subscriptions
from activity.journey import inarguments
from activity.rokt.api_requests import CREATE, UNSUBSCRIBE

SHARED = "shared"
CONTACT = "contact"
SCOPES = (SHARED, CONTACT)
NOTIFY_DEFAULT = 15
# Rokt's API reference gives no length for eventId; it travels in URL paths, and 255 is the
# bound this service has always kept.
EVENT_ID_MAX = 255

_CONTACT_KEY = re.compile(r"[^\s/\\\x00-\x1f\x7f\ud800-\udfff]+")


@dataclass(frozen=True, slots=True)
class EventConfig:
    """The activity's configuration with the contact's placeholder bindings, checked and typed.

    Texts are as configured (placeholders not yet filled, "" when absent).
    """

    action: str
    scope: str
    mid: str
    eid: str
    on_error: str
    event_id: str  # the marketer's, before eventScope; "" for unsubscribe
    calendar_code: str  # unsubscribe's calendar; "" for the other actions
    all_day: bool
    notify_before: int
    title: str
    description: str
    location: str
    start: str
    end: str
    timezone: str
    values: Mapping[str, Any]  # "<<Name>>" -> the bound value


class ContactConfig(NamedTuple):
    """An EventConfig bound to one contact. Immutable like EventConfig, but built on every
    execute, so a named tuple: a third of a frozen dataclass's construction cost."""

    config: EventConfig
    contact_key: str
    event_id: str  # after eventScope: what Rokt gets
    subscription_ids: tuple[str, ...]


def parse(merged: Mapping[str, Any]) -> EventConfig:
    """Merged, resolved inArguments -> EventConfig; InvalidInput names what is wrong."""
    inarguments.validate(merged)
    given = inarguments.present(merged)
    action = str(given.get("action", CREATE))
    leaving = action == UNSUBSCRIBE  # the contact leaves a calendar: no event at all
    # After `validate` none of these can fail; they turn checked values into typed ones.
    return EventConfig(
        action=action,
        scope=inarguments.choice(given.get("eventScope", CONTACT), SCOPES, "eventScope"),
        mid=_id_text(given.get("mid")),
        eid=_id_text(given.get("eid")),
        on_error=inarguments.on_error_of(given),
        event_id="" if leaving else inarguments.event_id(given.get("eventId")),
        calendar_code=inarguments.calendar_code(given.get("calendarCode")) if leaving else "",
        all_day=inarguments.all_day(given.get("allDay", False)),
        notify_before=inarguments.notify_before(given.get("notifyBefore", NOTIFY_DEFAULT)),
        title=_text_of(given, "title"),
        description=_text_of(given, "description"),
        location=_text_of(given, "location"),
        start=_text_of(given, "start"),
        end=_text_of(given, "end"),
        timezone=_text_of(given, "timezone"),
        values={k: v for k, v in merged.items() if k.startswith("<<")},
    )


def bind(config: EventConfig, contact_key: str, subscription: Any) -> ContactConfig:
    """The contact's own part: its eventId under eventScope and its subscription IDs."""
    if config.scope == SHARED or not config.event_id:  # both checked by `parse`: nothing to add
        event_id = config.event_id
    else:
        event_id = scoped_event_id(config.event_id, config.scope, contact_key)
    return ContactConfig(config, contact_key, event_id, subscriptions.parse(subscription))


def read(merged: Mapping[str, Any], contact_key: str) -> ContactConfig:
    return bind(parse(merged), contact_key, merged.get(subscriptions.FIELD))


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
    return scoped if len(scoped) < EVENT_ID_MAX else ids.fit(scoped, EVENT_ID_MAX)


def _text_of(given: Mapping[str, Any], field: str) -> str:
    return placeholders.as_text(given.get(field))


def _id_text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
