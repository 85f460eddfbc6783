"""The fake Rokt's calendars: listing a calendar's events and deactivating subscriptions.

Rules follow the Rokt Calendar API reference (seed 002):
- GET /v1/{accountCode}/calendars/{calendarId}/events: `pageNumber` starts with 1 and
  `pageSize` must be greater than 0; the answer wraps the page in `result` with
  `totalResults`, `pageNumber`, `pageSize` and `totalPages`, beside `errors` and `success`.
  An unknown calendar is 404 (the reference lists 401 and 404).
- DELETE /v1/subscription/{accountCode}/{calendarCode}: the body holds `userName`, `id`,
  `unsubscribeReasonId`, `unsubscribeReasonText` and `actionType`; either one subscription
  (`id`) or every subscription of a user name is deactivated, and its events leave the
  calendar. 202 on success, 400 for a bad body (the reference lists 400 and 401).

The fake is stricter than the reference says in one way on purpose: a body key that is not
one of those five, or a value of the wrong type, is a 400, so a typo in our request fails a test.
A calendar lists every event the account holds (created through the API or seeded). A
calendar added for ANY_ACCOUNT exists in every account: the standalone fake serves
DEMO_CALENDAR_ID (code DEMO_CALENDAR_CODE) that way, whatever account code it is given.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfoNotFoundError

from aiohttp import web

from activity.devtools.fake_rokt.answers import Answer, error_body
from activity.devtools.fake_rokt.calendar_book import Deactivation
from activity.events import timezones

if TYPE_CHECKING:
    from activity.devtools.fake_rokt.state import FakeRokt

GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
DEFAULT_PAGE_SIZE = 50
UNSUBSCRIBE_FIELDS = (
    "userName",
    "id",
    "unsubscribeReasonId",
    "unsubscribeReasonText",
    "actionType",
)
_TEXT_FIELDS = ("userName", "id", "unsubscribeReasonText", "actionType")


def _error(status: int, code: str, reason: str) -> Answer:
    return status, error_body(status, [(code, reason)])


def list_events(fake: FakeRokt, account: str, calendar_id: str, query: dict[str, str]) -> Answer:
    if fake.calendars.code_of(account, calendar_id) is None:
        return _error(404, "NotFound", f"calendar {calendar_id} not found")
    try:
        page = int(query.get("pageNumber", "1"))
        size = int(query.get("pageSize", str(DEFAULT_PAGE_SIZE)))
    except ValueError:
        page = size = 0
    if page < 1 or size < 1:
        return _error(400, "InvalidPage", "pageNumber must be 1 or more and pageSize above 0")
    mine = sorted(
        (
            _listed(event_id, event)
            for (acct, event_id), event in fake.events.items()
            if acct == account
        ),
        key=lambda e: (str(e["startDateTimeLocal"] or ""), e["id"]),
    )
    return 200, {
        "result": {
            "data": mine[(page - 1) * size : page * size],
            "totalResults": len(mine),
            "pageNumber": page,
            "pageSize": size,
            "totalPages": (len(mine) + size - 1) // size,
        },
        "errors": [],
        "success": True,
    }


def unsubscribe(fake: FakeRokt, account: str, calendar_code: str, body: Any) -> Answer:
    if not fake.calendars.has_code(account, calendar_code):
        return _error(400, "CalendarNotFound", f"calendar {calendar_code} not found")
    if not isinstance(body, dict):
        return _error(400, "Required", "a JSON object body is required")
    unknown = sorted(set(body) - set(UNSUBSCRIBE_FIELDS))
    if unknown:
        return _error(400, "UnknownField", f"unknown field(s): {', '.join(unknown)}")
    for name in _TEXT_FIELDS:
        if body.get(name) is not None and not isinstance(body[name], str):
            return _error(400, "InvalidField", f"{name} must be a string")
    reason_id = body.get("unsubscribeReasonId")
    if reason_id is not None and (isinstance(reason_id, bool) or not isinstance(reason_id, int)):
        return _error(400, "InvalidField", "unsubscribeReasonId must be an integer or null")
    sub, user = (body.get("id") or "").strip(), (body.get("userName") or "").strip()
    if not sub and not user:
        return _error(400, "Required", "id or userName is required")
    if sub and not GUID.match(sub):
        return _error(400, "InvalidSubscriptionId", f"id {sub!r} is not a GUID")
    if sub in fake.rejected_subscriptions:
        return _error(400, "InvalidSubscription", f"{sub}: {fake.rejected_subscriptions[sub]}")
    reason = body.get("unsubscribeReasonText") or ""
    fake.calendars.deactivations.append(Deactivation(account, calendar_code, sub, user, reason))
    for (acct, _), holders in fake.holders.items():
        if acct == account:
            holders.discard(sub)
    return 202, {"success": True, "statusCode": 202, "message": "Accepted"}


def add_routes(
    app: web.Application,
    api: Callable[
        [str, Callable[[web.Request, FakeRokt, Any], Answer]],
        Callable[[web.Request], Awaitable[web.StreamResponse]],
    ],
) -> None:
    def _list(request: web.Request, fake: FakeRokt, body: Any) -> Answer:
        info = request.match_info
        return list_events(fake, info["account"], info["calendar_id"], dict(request.query))

    def _unsubscribe(request: web.Request, fake: FakeRokt, body: Any) -> Answer:
        info = request.match_info
        return unsubscribe(fake, info["account"], info["calendar_code"], body)

    app.router.add_get(
        "/v1/{account}/calendars/{calendar_id}/events", api("calendar_events", _list)
    )
    app.router.add_delete(
        "/v1/subscription/{account}/{calendar_code}", api("unsubscribe", _unsubscribe)
    )


def _utc(local: Any, iana: Any) -> str | None:
    try:
        # The pinned tzdata, as everywhere (activity/events/timezones.py), not the system's.
        zone = timezones.zone_info(str(iana))
        moment = datetime.fromisoformat(str(local)).replace(tzinfo=zone)
    except (ValueError, ZoneInfoNotFoundError):
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _listed(event_id: str, event: dict[str, Any]) -> dict[str, Any]:
    zones: Iterable[dict[str, Any]] = (
        [
            {
                "bclId": event.get("timezone", ""),
                "ianaId": event.get("timezoneIanaId", ""),
                "offsetMinutes": None,
            }
        ]
        if event.get("timezone")
        else []
    )
    return {
        "id": event_id,
        "title": event.get("title", ""),
        "description": event.get("description", ""),
        "location": event.get("location", ""),
        "reminderMinutes": event.get("notifyBefore"),
        "timezoneBclId": event.get("timezone", ""),
        "timezoneIanaId": event.get("timezoneIanaId", ""),
        "startDateTimeUtc": _utc(event.get("start"), event.get("timezoneIanaId")),
        "startDateTimeLocal": event.get("start"),
        "endDateTimeLocal": event.get("end"),
        "lastUpdateDateTimeUtc": None,
        "calendarTags": [],
        "calendarTimezones": list(zones),
        "calendarCustomFields": [],
    }
