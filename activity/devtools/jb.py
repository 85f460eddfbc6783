"""Helpers that play Journey Builder: used by the tests, the demo and the benchmark."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography.fernet import Fernet

from activity.admin.settings_service import Actor
from activity.appkeys import SETTINGS_SERVICE
from activity.config import Settings
from activity.devtools.fake_rokt.state import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

TEST_SECRET = "test-jwt-signing-secret-0123456789"  # noqa: S105 - a test fixture, not a credential
DEFAULT_SUBSCRIPTION_BINDING = (
    '{{Contact.Attribute."Calendar Subscription"."CalendarSubscriptionId"}}'
)
DEMO_MID = "500000001"
ENTRY_KEY = "DEAudience-ee51a166-8c63-2436-fcf8-91c30358bee1"


def sign(payload: Mapping[str, Any], secret: str = TEST_SECRET, **headers: Any) -> bytes:
    """Sign as JB does: HS256 with the package's JWT Signing Secret as a UTF-8 string."""
    return jwt.encode(dict(payload), secret, algorithm="HS256", headers=headers or None).encode()


def test_settings(
    tmp_path: Path, rokt_api_url: str = "http://127.0.0.1:9", **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "public_url": "https://activity.example.com",
        "jwt_secret": TEST_SECRET,
        "database_url": f"sqlite:///{tmp_path / 'activity.db'}",
        "encryption_keys": (Fernet.generate_key().decode(),),
        "rokt_api_url": rokt_api_url,
        "delivery_poll_seconds": 0.02,
        "delivery_lease_seconds": 5.0,
        "rokt_timeout_seconds": 2.0,
    }
    values.update(overrides)
    return Settings(**values)


def rokt_event(event_id: str = "summer-sale", **overrides: Any) -> dict[str, Any]:
    """A rendered Rokt event object, as the outbox holds it and Rokt receives it."""
    body: dict[str, Any] = {
        "eventId": event_id,
        "title": "Summer Sale",
        "description": "Offers",
        "location": "https://shop.example.com",
        "timezone": "Eastern Standard Time",
        "timezoneIanaId": "America/New_York",
        "start": "2026-12-01T09:00:00",
        "end": "2026-12-01T10:00:00",
        "allDayEvent": False,
        "notifyBefore": 15,
    }
    body.update(overrides)
    return body


async def store_demo_settings(app: web.Application, mid: str = DEMO_MID, **kw: Any) -> None:
    """Rokt settings for `mid` with the fake Rokt's demo client (activity.devtools.fake_rokt)."""
    await app[SETTINGS_SERVICE].save(
        mid=mid,
        account_code="acme",
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        actor=Actor("test"),
        **kw,
    )


def lifecycle_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "activityObjectID": "b164fb54-c904-46f4-95c7-c23643628cc3",
        "interactionId": "e0fc0b94-f69e-44ae-bfe3-f83011543a7c",
        "originalDefinitionId": "e0fc0b94-f69e-44ae-bfe3-f83011543a7c",
        "interactionKey": "7169bc47-283e-9422-c28b-af4ab7b95a3c",
        "interactionVersion": "1",
        "isPublished": False,
    }
    payload.update(overrides)
    return payload


def event_arguments(**overrides: Any) -> dict[str, Any]:
    """A configured activity's inArguments as one mapping (before JB resolves bindings)."""
    args: dict[str, Any] = {
        "mid": "500000001",
        "eid": "500000000",
        "action": "create",
        "eventId": "summer-sale-2026",
        "eventScope": "shared",
        "title": "Summer Sale starts",
        "description": "Three days of offers",
        "location": "https://shop.example.com/sale",
        "start": "2026-12-01T09:00",
        "end": "2026-12-01T10:00",
        "timezone": "Eastern Standard Time",
        "allDay": False,
        "notifyBefore": 15,
        "onError": "continue",
        "calendarSubscriptionId": str(uuid.uuid4()),
    }
    args.update(overrides)
    return args


def execute_payload(
    arguments: Mapping[str, Any],
    *,
    contact_key: str = "0031x00000AbCdEf",
    activity_id: str = "2ad157c6-d111-4124-b996-4a3a48b2b168",
    definition_instance_id: str | None = None,
    journey_id: str = "78d81790-19da-41dd-9ca2-6fd25baa5699",
) -> dict[str, Any]:
    """The decoded execute body JB sends (docs/protocol.md, "Execute"): one key per inArgument."""
    return {
        "inArguments": [{k: v} for k, v in arguments.items()],
        "outArguments": [{"roktStatus": ""}, {"roktEventId": ""}, {"roktError": ""}],
        "activityObjectID": activity_id,
        "journeyId": journey_id,
        "activityId": activity_id,
        "definitionInstanceId": definition_instance_id or str(uuid.uuid4()),
        "activityInstanceId": str(uuid.uuid4()),
        "keyValue": contact_key,
        "mode": 0,
    }


# pytest would otherwise collect this helper as a test wherever it is imported.
test_settings.__test__ = False  # type: ignore[attr-defined]
