"""The fake Rokt's subscription routes around the book in subscribe.py: Create New
Subscription (`POST /v2/subscribe/{accountCode}/{calendarCode}`), the Google/Microsoft
consent form, the webcal:// feed a subscription link serves, and the webhooks Rokt sends
about each subscription it makes or updates."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web

from activity.devtools.fake_rokt import webhooks
from activity.devtools.fake_rokt.answers import Answer
from activity.devtools.fake_rokt.subscribe import ENDPOINT, FakeSubscription
from activity.devtools.fake_rokt.subscribe_rules import GOOGLE, MICROSOFT, WEBCAL

if TYPE_CHECKING:
    from activity.devtools.fake_rokt.state import FakeRokt

Action = Callable[[web.Request, "FakeRokt", Any], Answer]


def add_routes(
    app: web.Application,
    api: Callable[[str, Action], Callable[[web.Request], Awaitable[web.StreamResponse]]],
    fake_of: Callable[[web.Request], FakeRokt],
) -> None:
    def _subscribe(request: web.Request, fake: FakeRokt, body: Any) -> Answer:
        info = request.match_info
        base = f"{request.scheme}://{request.host}"
        account, calendar = info["account"], info["calendar"]

        def inactive(made: FakeSubscription) -> bool:
            return any(
                d.account == account
                and d.calendar_code == calendar
                and (d.subscription_id == made.subscription_id or d.user_name == made.subscriber_id)
                for d in fake.calendars.deactivations
            )

        known = [code for (acct, _), code in fake.calendars.codes.items() if acct == account]
        return fake.subscribe.subscribe(
            account, calendar, body, base, known_calendars=known, inactive=inactive
        )

    async def ical(request: web.Request) -> web.StreamResponse:
        """The feed behind a subscription's webcal:// link (see calendar_text)."""
        fake = fake_of(request)
        made = fake.subscribe.subscriptions.get(request.match_info["subscription_id"])
        if made is None:
            return web.json_response({"error": "no such subscription"}, status=404)
        events = [fake.events[key] for key in fake.events_of(made.subscription_id)]
        text = calendar_text(made, events)
        return web.Response(text=text, content_type="text/calendar", charset="utf-8")

    async def consent(request: web.Request) -> web.StreamResponse:
        """The fake Google/Microsoft consent form, already agreed to (see subscribe.py)."""
        target = fake_of(request).subscribe.consent(request.match_info["token"])
        if target is None:
            return web.json_response({"error": "unknown or used consent link"}, status=404)
        raise web.HTTPFound(target)

    app.router.add_post("/v2/subscribe/{account}/{calendar}", api(ENDPOINT, _subscribe))
    app.router.add_get("/fake/consent/{token}", consent)
    app.router.add_get("/ical/{subscription_id}.ics", ical)


# Seed 004 (webhook objects) spells the WebCal method "Webcal".
_WEBHOOK_METHODS = {WEBCAL: "Webcal", GOOGLE: GOOGLE, MICROSOFT: MICROSOFT}
_UTM = ("utmSource", "utmMedium", "utmCampaign", "utmContent")


def webhook_listener(
    sender: webhooks.WebhookSender,
) -> Callable[[FakeSubscription, bool], None]:
    """Rokt tells the account's webhook URL about each subscription the API makes
    (`Subscribe`) or updates (`SubscriptionDetailsUpdated`), with seed 004's objects."""

    def tell(made: FakeSubscription, is_new: bool) -> None:
        build = webhooks.subscribe if is_new else webhooks.details_updated
        payload = build(
            made.account,
            made.subscription_id,
            calendar_code=made.calendar,
            created_at=made.created_wall,
            external_id=made.subscriber_id,
            email=made.email,
            method=_WEBHOOK_METHODS.get(made.method, made.method),
            **{name: str(made.details.get(name) or "") for name in _UTM},
        )
        # Known to the sender, so POST /__fake/subscriptions/{id}/unsubscribe works for it too.
        sender.subscriptions[made.subscription_id] = {
            "accountCode": made.account,
            **payload["eventDetails"],
        }
        sender.send(payload)

    return tell


def calendar_text(made: FakeSubscription, events: Sequence[dict[str, Any]]) -> str:
    """What the subscription's webcal:// link serves (over http:// from the fake): an
    iCalendar feed of the events the subscription holds, times as the API received them."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//activity//fake Rokt Calendar//EN",
        f"X-WR-CALNAME:{_ics_text(made.calendar)}",
    ]
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{_ics_text(str(event.get('eventId', '')))}@{_ics_text(made.account)}",
            f"SUMMARY:{_ics_text(str(event.get('title', '')))}",
            f"DTSTART;TZID={event.get('timezoneIanaId', 'UTC')}:{_ics_time(event.get('start'))}",
            f"DTEND;TZID={event.get('timezoneIanaId', 'UTC')}:{_ics_time(event.get('end'))}",
            f"LOCATION:{_ics_text(str(event.get('location', '')))}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def _ics_text(text: str) -> str:
    # RFC 5545 3.3.11: backslash, semicolon, comma and newlines are escaped in TEXT.
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _ics_time(value: Any) -> str:
    return str(value or "").replace("-", "").replace(":", "")
