"""Hypothesis throws hostile input at /execute (signed with the right secret, so it reaches the
pipeline) and at /api/preview: never a 500, never an unhandled exception, always a precise
reason; bodies over the size limit get 413.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import time
import uuid
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from activity.appkeys import SETTINGS
from activity.devtools.jb import (
    TEST_SECRET,
    event_arguments,
    execute_payload,
    sign,
    store_demo_settings,
)
from activity.journey.execution import INVALID, QUEUED, STATUSES
from activity.journey.jwt_auth import EXP_LEEWAY_SECONDS, MAX_EXP, MAX_LIFETIME_SECONDS

MID = "500000001"
AUTH_REASONS = {"missing_token", "malformed_token", "json_body", "wrong_algorithm", "bad_signature"}
HTTP = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- strategies ---------------------------------------------------------------------------

GUID = st.uuids().map(str)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=16),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=8,
)
PLACEHOLDERS = st.sampled_from(
    [
        "<<A>>",
        "<<A|fallback>>",
        "<<A|>>",
        "<<|x>>",
        "<<",
        ">>",
        "<<<<A>>>>",
        "<<A|b|c>>",
        "<<Missing>>",
        "<<First Name>>",
        "<<A>><<B>>",
        '{{Event.x."A"}}',
        "{{",
        "}}",
        "<<\x00>>",
    ]
)
TEXT = st.one_of(
    st.text(max_size=40),
    st.builds(lambda a, p, b: a + p + b, st.text(max_size=8), PLACEHOLDERS, st.text(max_size=8)),
    st.text(min_size=250, max_size=300),
    st.sampled_from(["bad\ud800", "\udfff", "ok \ud83d\ude00 \ud83d"]),  # lone surrogates
)
DATES = st.one_of(
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
    st.datetimes().map(lambda d: d.isoformat()),
    st.dates().map(str),
    st.sampled_from(
        [
            "2026-03-08T02:30",
            "2026-11-01T01:30",
            "2026-02-29T10:00",
            "2026-12-01T24:00",
            "0001-01-01T00:00",
            "9999-12-31T23:59:59",
            "2026-12-01T09:00Z",
            "2026-12-01T09:00+05:00",
            "2026-12-01T09:00:00.1234567",
            "２０２６-12-01T09:00",
            "2026-12-01 09:00",
            "tomorrow",
            "<<Start>>",
            "{{Event.x.Start}}",
            "",
            " ",
        ]
    ),
)
ZONES = st.one_of(
    st.sampled_from(
        [
            "Eastern Standard Time",
            "America/New_York",
            "UTC",
            "Etc/GMT+14",
            "Asia/Kathmandu",
            "Lord Howe Standard Time",
            "Tokyo Standard Time",
            "Pacific Standard Time",
            "Australia/Lord_Howe",
            "america/new_york",
            "../../etc/passwd",
            "Nowhere/Nothing",
            "EST5EDT",
            "",
            "<<Zone>>",
            "America/New_York\x00",
        ]
    ),
    st.text(max_size=40),
)
SEPARATOR = st.sampled_from([",", ";", " ", "\n", ", ", ";;", "\t"])
SUBSCRIPTIONS = st.one_of(
    GUID,
    st.builds(lambda ids, sep: sep.join(ids), st.lists(GUID, max_size=8), SEPARATOR),
    st.lists(GUID, max_size=8).map(json.dumps),
    st.lists(GUID | st.integers() | st.none() | st.text(max_size=8), max_size=6),
    st.lists(GUID, min_size=101, max_size=130).map(",".join),
    GUID.map(lambda g: "{" + g.upper() + "}"),
    st.text(max_size=40),
    st.sampled_from(["[", "[1, 2]", '["x"]', "null", "{}", ""]),
)
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "mid": st.sampled_from([MID, int(MID), "", "42", "５００"]) | JSON,
    "eid": st.sampled_from(["", "500000000"]) | JSON,
    "action": st.sampled_from(["create", "update", "remove", "cancel", "delete", ""]) | JSON,
    "eventId": st.sampled_from(["summer-sale", "x" * 101, "-bad", "<<A>>"]) | st.text(max_size=20),
    "eventScope": st.sampled_from(["shared", "contact", "everyone"]) | JSON,
    "title": TEXT | JSON,
    "description": TEXT,
    "location": TEXT,
    "start": DATES | JSON,
    "end": DATES | JSON,
    "timezone": ZONES | JSON,
    "allDay": st.sampled_from([True, False, "TRUE", " false ", "yes", 1, None]),
    "notifyBefore": st.integers()
    | st.floats()
    | st.sampled_from(["15", "  7 ", "-1", "40321", "1e3", "9" * 30]),
    "onError": st.sampled_from(["continue", "eject", "EJECT", "explode", None]),
    "calendarSubscriptionId": SUBSCRIPTIONS | JSON,
    "<<A>>": TEXT | JSON,
    "<<First Name>>": TEXT,
}


@st.composite
def overrides(draw: st.DrawFn) -> dict[str, Any]:
    """A few fields of a working configuration replaced by hostile values."""
    keys = draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), max_size=3, unique=True))
    return {key: draw(FIELD_VALUES[key]) for key in keys}


OVERRIDES = overrides()
EXTRA = st.dictionaries(st.text(max_size=12), JSON, max_size=2)
IDS = ("activityId", "definitionInstanceId", "keyValue", "journeyId")


def in_arguments_shape(merged: dict[str, Any]) -> st.SearchStrategy[Any]:
    """JB's array of one-key objects, most of the time; sometimes something else entirely."""
    jb = [{k: v} for k, v in merged.items()]
    return st.sampled_from([jb, jb, jb, merged, [merged], [*jb, None], "inArguments", None, {}])


@st.composite
def execute_bodies(draw: st.DrawFn) -> dict[str, Any]:
    merged = {**event_arguments(mid=MID), **draw(OVERRIDES), **draw(EXTRA)}
    body = execute_payload(
        {},
        contact_key=draw(
            st.sampled_from(["C-1", "", "a b", "k" * 300, "k\ud800", "A" * 200 + "-x"])
            | st.text(max_size=10)
        ),
    )
    body["inArguments"] = draw(in_arguments_shape(merged))
    for key in draw(st.lists(st.sampled_from(IDS), max_size=1) | st.just([])):
        body[key] = draw(JSON)
    return body


# --- helpers ------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_raw(payload: bytes) -> bytes:
    """HS256 over any payload bytes, even ones that are not a JSON object."""
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(payload)}"
    mac = hmac.new(TEST_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}".encode()


def precise(message: object) -> bool:
    """A reason a marketer can act on: names what is wrong and what was expected."""
    return (
        isinstance(message, str)
        and 10 <= len(message) <= 2000
        and ("expected" in message or "has no" in message or "Rokt settings" in message)
    )


def no_unhandled_errors(caplog: pytest.LogCaptureFixture) -> None:
    unhandled = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not unhandled, [r.getMessage() for r in unhandled]


@pytest.fixture
async def configured(client: TestClient) -> TestClient:
    await store_demo_settings(client.app)
    return client


async def post_execute(client: TestClient, token: bytes) -> tuple[int, Any]:
    resp = await client.post("/execute", data=token, headers={"Content-Type": "application/jwt"})
    assert resp.content_type == "application/json"
    return resp.status, await resp.json()


# --- /execute -----------------------------------------------------------------------------


def hostile(contact_key: str = "C-1", **overrides: Any) -> dict[str, Any]:
    return execute_payload(event_arguments(mid=MID, **overrides), contact_key=contact_key)


@HTTP
@given(body=execute_bodies())
@example(body=hostile(start="0001-01-01T00:00", timezone="Tokyo Standard Time"))
@example(body=hostile(end="9999-12-31T23:59", timezone="Pacific Standard Time"))
@example(body=hostile(allDay=True, start="9999-12-01", end="9999-12-31"))
@example(body=hostile(calendarSubscriptionId="[" * 5000 + "]" * 5000))
@example(body=hostile(title="bad\ud800"))
@example(body=hostile("bad\ud800", eventScope="contact"))
@example(body=hostile("A" * 300, eventScope="contact"))
async def test_execute_answers_every_signed_body_with_a_status_and_a_reason(
    configured: TestClient, caplog: pytest.LogCaptureFixture, body: dict[str, Any]
) -> None:
    status, answer = await post_execute(configured, sign(body))
    assert status in (200, 400), answer
    assert set(answer) == {"roktStatus", "roktEventId", "roktError"}
    assert answer["roktStatus"] in STATUSES
    event(answer["roktStatus"])
    if answer["roktStatus"] == INVALID:
        assert precise(answer["roktError"]), answer["roktError"]
    else:
        assert status == 200
    if status == 400:
        assert answer["roktStatus"] == INVALID
    if answer["roktStatus"] == QUEUED:
        assert answer["roktEventId"] and answer["roktError"] == ""
        again = await post_execute(configured, sign(body))
        assert again == (status, answer), "a retry gets the first answer"
    no_unhandled_errors(caplog)


@HTTP
@given(payload=st.one_of(JSON.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200)))
@example(payload=b"[" * 50_000 + b"]" * 50_000)
@example(payload=b'{"inArguments": [' + b"9" * 5000 + b"]}")
@example(payload="\ufeff{}".encode())
async def test_execute_payloads_that_are_not_objects_get_401_malformed(
    configured: TestClient, caplog: pytest.LogCaptureFixture, payload: bytes
) -> None:
    try:
        is_object = isinstance(json.loads(payload), dict)
    except (ValueError, RecursionError):
        is_object = False
    status, answer = await post_execute(configured, sign_raw(payload))
    if is_object:
        assert status in (200, 400, 401)
    else:
        assert (status, answer["reason"]) == (401, "malformed_token"), answer
    no_unhandled_errors(caplog)


def is_numeric_date(exp: Any) -> bool:
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return False
    return abs(exp) <= MAX_EXP if isinstance(exp, int) else math.isfinite(exp)


# Dates around now reach every branch: expired, valid, and valid for longer than the cap allows.
NEAR_NOW = st.integers(-2 * MAX_LIFETIME_SECONDS, 2 * MAX_LIFETIME_SECONDS).map(
    lambda d: time.time() + d
)


@HTTP
@given(exp=st.one_of(JSON, st.floats(allow_nan=True, allow_infinity=True), st.integers(), NEAR_NOW))
@example(exp=math.nan)
@example(exp=math.inf)
@example(exp=10**400)
async def test_exp_is_honoured_or_refused_as_malformed(configured: TestClient, exp: Any) -> None:
    body = execute_payload(event_arguments(mid=MID, calendarSubscriptionId=str(uuid.uuid4())))
    body["exp"] = exp
    status, answer = await post_execute(configured, sign(body))
    now = time.time()
    if exp is None:
        assert status == 200
    elif not is_numeric_date(exp):
        assert (status, answer["reason"]) == (401, "malformed_token"), (exp, answer)
    elif now > exp + EXP_LEEWAY_SECONDS + 1:
        assert (status, answer["reason"]) == (401, "expired")
    elif exp > now + MAX_LIFETIME_SECONDS + EXP_LEEWAY_SECONDS + 1:
        assert (status, answer["reason"]) == (401, "exp_too_far")
    elif now < exp + EXP_LEEWAY_SECONDS - 1 and exp < now + MAX_LIFETIME_SECONDS - 1:
        assert status == 200 and answer["roktStatus"] == QUEUED


@HTTP
@given(body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
async def test_unsigned_garbage_gets_401_with_a_reason(
    configured: TestClient, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    status, answer = await post_execute(configured, body)
    assert status == 401 and answer["reason"] in AUTH_REASONS, answer
    assert answer["error"]
    no_unhandled_errors(caplog)


# --- /api/preview -------------------------------------------------------------------------

PREVIEW_ARGUMENTS = st.one_of(
    st.builds(lambda o, e: {**event_arguments(mid=MID), **o, **e}, OVERRIDES, EXTRA),
    st.builds(lambda o: [{k: v} for k, v in {**event_arguments(), **o}.items()], OVERRIDES),
    JSON,
)
SAMPLES = st.one_of(
    st.dictionaries(
        st.sampled_from(["<<A>>", "A", "First Name", "start", "<<First Name>>"])
        | st.text(max_size=8),
        TEXT | JSON,
        max_size=5,
    ),
    JSON,
)


@st.composite
def preview_bodies(draw: st.DrawFn) -> bytes:
    shape = draw(st.integers(0, 9))
    if shape == 0:
        return draw(st.binary(max_size=200))
    if shape == 1:
        return json.dumps(draw(JSON)).encode()
    body: dict[str, Any] = {"arguments": draw(PREVIEW_ARGUMENTS)}
    if draw(st.booleans()):
        body["samples"] = draw(SAMPLES)
    if draw(st.booleans()):
        body["contactKey"] = draw(st.text(max_size=20) | JSON)
    return json.dumps(body).encode()


@HTTP
@given(raw=preview_bodies())
@example(raw=b"[" * 100_000)
@example(raw=b'{"arguments": {"notifyBefore": ' + b"9" * 5000 + b"}}")
@example(raw=json.dumps({"arguments": event_arguments(start="0001-01-01T00:00")}).encode())
@example(raw=json.dumps({"arguments": event_arguments(end="9999-12-31T23:59")}).encode())
@example(raw=json.dumps({"arguments": event_arguments(allDay=True, end="9999-12-31")}).encode())
@example(raw=b'{"arguments": {"calendarSubscriptionId": "' + b"[" * 5000 + b'"}}')
@example(raw=b'{"arguments": {"title": "\\ud800"}, "contactKey": "\\udfff"}')
async def test_preview_answers_every_body_with_a_result_or_a_reason(
    client: TestClient, caplog: pytest.LogCaptureFixture, raw: bytes
) -> None:
    resp = await client.post("/api/preview", data=raw, headers={"Content-Type": "application/json"})
    assert resp.status in (200, 400), await resp.text()
    answer = await resp.json()
    if resp.status == 400:
        assert answer["reason"] == "bad_request" and precise(answer["error"]), answer
    elif answer["ok"]:
        assert answer["requests"] and answer["eventId"]
    else:
        assert answer["reason"] and precise(answer["error"]), answer
    no_unhandled_errors(caplog)


# --- size limit ---------------------------------------------------------------------------


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    extra=st.integers(1, 64 * 1024),
    path=st.sampled_from(["/execute", "/publish", "/api/preview", "/api/check", "/login"]),
    content_type=st.sampled_from(
        ["application/jwt", "application/json", "application/x-www-form-urlencoded", "text/plain"]
    ),
)
async def test_bodies_over_the_limit_get_413(
    client: TestClient, extra: int, path: str, content_type: str
) -> None:
    body = b"a" * (client.app[SETTINGS].max_body_bytes + extra)
    resp = await client.post(path, data=body, headers={"Content-Type": content_type})
    assert resp.status == 413
    assert (await resp.json())["reason"] == "too_large"
