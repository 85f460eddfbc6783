"""JSON endpoints the config UI calls: time zones, pre-flight check, preview, configured yes/no.

None of them reads a stored secret. /api/preview renders through `events.preview`, the same
code path as execute, with the marketer's sample values. /api/configured answers
{"configured": true|false} only to an admin session of that MID, {"configured": null} otherwise.
A body that is not what is expected gets a 400 naming the problem, never a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from aiohttp import web

from activity.admin import sessions
from activity.appkeys import SETTINGS_SERVICE
from activity.errors import InvalidInput
from activity.events import plan as events
from activity.events import preflight, timezones
from activity.journey import subscribe_editor
from activity.journey.inarguments import SCHEMA, kind_of, merge
from activity.journey.text_checks import lone_surrogate
from activity.rokt.subscribe_api import SUBSCRIBE

MAX_SAMPLE_KEYS = 200
_ID = re.compile(r"\d{1,18}")
_SCALARS = (str, int, float, bool, type(None))


class BadRequest(Exception):
    """The request body is not what the endpoint expects; the message says what is wrong."""


async def time_zones(request: web.Request) -> web.Response:
    zones = [
        {"windows": z.windows, "iana": z.iana, "offset": _offset(timezones.standard_offset(z))}
        for z in timezones.all_zones()
    ]
    return web.json_response({"zones": zones}, headers={"Cache-Control": "public, max-age=3600"})


async def check(request: web.Request) -> web.Response:
    try:
        body = await _object_body(request)
        arguments = _arguments(body)
    except BadRequest as err:
        return _bad_request(err)
    if arguments.get("action") == SUBSCRIBE:
        found = subscribe_editor.problems(arguments)
    else:
        found = preflight.problems(arguments)
    return web.json_response(
        {"ok": not found, "problems": [{"field": p.field, "message": p.message} for p in found]}
    )


async def preview(request: web.Request) -> web.Response:
    try:
        body = await _object_body(request)
        arguments = _arguments(body)
        samples = _samples(body.get("samples", {}))
        contact_key = body.get("contactKey", "SampleContact")
        if not isinstance(contact_key, str):
            raise BadRequest(f"contactKey is {kind_of(contact_key)}; expected a string")
        _reject_surrogates(contact_key, "contactKey")
    except BadRequest as err:
        return _bad_request(err)
    try:
        if arguments.get("action") == SUBSCRIBE:
            return _subscribe_preview(arguments, samples, contact_key or "SampleContact")
        plan, requests = events.preview(arguments, samples, contact_key or "SampleContact")
    except InvalidInput as err:
        # Not an HTTP error: the request was fine, the configuration cannot render yet.
        return web.json_response(
            {
                "ok": False,
                "error": err.message,
                "reason": err.reason,
                "field": _field_of(err.message),
            }
        )
    return web.json_response(
        {
            "ok": True,
            "action": plan.action,
            "eventId": plan.event_id,
            "event": plan.payload,
            "startUtc": plan.start_utc,
            "endUtc": plan.end_utc,
            "subscriptionIds": list(plan.subscription_ids),
            "requests": [{"method": r.method, "path": r.path, "body": r.body} for r in requests],
        }
    )


def _subscribe_preview(
    arguments: Mapping[str, Any], samples: Mapping[str, Any], contact_key: str
) -> web.Response:
    parsed, request = subscribe_editor.preview(arguments, samples, contact_key)
    return web.json_response(
        {
            "ok": True,
            "action": SUBSCRIBE,
            "eventId": "",
            "event": {"calendarCode": parsed.calendar_code, "subscriptionMethod": parsed.method},
            "subscriberId": parsed.subscriber_id,
            "startUtc": None,
            "endUtc": None,
            "subscriptionIds": [],
            "requests": [{"method": request.method, "path": request.path, "body": request.body}],
        }
    )


async def configured(request: web.Request) -> web.Response:
    """Whether the business unit has Rokt settings: stored state, so only for a signed-in
    admin session of that very business unit (the session cookie is Partitioned, so inside
    Marketing Cloud the editor's frame shares it). Anyone else learns nothing:
    {"configured": null}, which the editor shows as "unknown" (no banner)."""
    mid = request.query.get("mid", "").strip()
    eid = request.query.get("eid", "").strip()
    if not mid and not eid:
        return _bad_request(BadRequest("mid is missing; expected ?mid=<business unit MID>"))
    for name, value in (("mid", mid), ("eid", eid)):
        if value and not _ID.fullmatch(value):
            return _bad_request(BadRequest(f"{name} is not a number; expected digits only"))
    headers = {"Cache-Control": "no-store"}
    admin = await sessions.current(request)
    if admin is None or admin.identity.mid != mid:
        return web.json_response({"configured": None}, headers=headers)
    identity = admin.identity  # the session's enterprise, never the query's
    answer = await request.app[SETTINGS_SERVICE].is_configured(identity.mid, identity.enterprise_id)
    return web.json_response({"configured": answer}, headers=headers)


async def _object_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        raise BadRequest("the request body is empty; expected a JSON object")
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("the request body is not UTF-8; expected a JSON object") from None
    except RecursionError:
        raise BadRequest(
            "the request body is nested too deeply; expected a flat JSON object"
        ) from None
    except json.JSONDecodeError as err:
        raise BadRequest(
            f"the request body is not valid JSON ({err.msg} at line {err.lineno} column "
            f"{err.colno}); expected a JSON object"
        ) from None
    except ValueError:  # an integer too long to convert (int_max_str_digits)
        raise BadRequest(
            "the request body holds a number too long; expected a JSON object"
        ) from None
    if not isinstance(body, dict):
        raise BadRequest(f"the request body is {kind_of(body)}; expected a JSON object")
    return body


def _arguments(body: Mapping[str, Any]) -> dict[str, Any]:
    """`arguments`: the merged inArguments object, or JB's array of one-key objects."""
    if "arguments" not in body:
        raise BadRequest('arguments is missing; expected {"arguments": {"eventId": ...}}')
    raw = body["arguments"]
    if not isinstance(raw, dict | list):
        raise BadRequest(f"arguments is {kind_of(raw)}; expected an object or an array of objects")
    try:
        merged = merge(raw)
    except InvalidInput as err:
        raise BadRequest(err.message.replace("inArguments", "arguments", 1)) from None
    for key, value in merged.items():
        if not _is_argument_value(value):
            raise BadRequest(
                f"arguments.{key} is {kind_of(value)}; expected a string, number, boolean or null"
            )
    return merged


def _is_argument_value(value: Any) -> bool:
    if isinstance(value, list):  # calendarSubscriptionId may be a JSON array of GUIDs
        return all(isinstance(item, str) for item in value)
    return isinstance(value, _SCALARS)


def _samples(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise BadRequest(f"samples is {kind_of(raw)}; expected an object of field name to value")
    if len(raw) > MAX_SAMPLE_KEYS:
        raise BadRequest(f"samples has {len(raw)} entries; expected at most {MAX_SAMPLE_KEYS}")
    for key, value in raw.items():
        if not isinstance(value, _SCALARS):
            raise BadRequest(
                f"samples[{key!r}] is {kind_of(value)}; expected a string, number, boolean or null"
            )
        _reject_surrogates(key, f"samples key {key!r}")
        if isinstance(value, str):
            _reject_surrogates(value, f"samples[{key!r}]")
    return dict(raw)


def _reject_surrogates(text: str, name: str) -> None:
    mark = lone_surrogate(text)
    if mark:
        raise BadRequest(
            f"{name} contains a lone surrogate ({mark}), which is not text; expected plain text"
        )


def _field_of(message: str) -> str:
    """The inArgument a domain message starts with ("end 2026-... is before start ...")."""
    first = message.split(" ", 1)[0]
    return first if first in SCHEMA["properties"] else ""


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def _bad_request(err: BadRequest) -> web.Response:
    return web.json_response({"error": str(err), "reason": "bad_request"}, status=400)
