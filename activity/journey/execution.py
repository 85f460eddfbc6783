"""The execute pipeline: one JB call for one contact becomes one durable, idempotent answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from activity.admin.settings_service import SettingsService
from activity.errors import InvalidInput
from activity.events import plan as events
from activity.journey import inarguments
from activity.journey.subscribing import Subscriber
from activity.rokt.api_requests import CANCEL
from activity.rokt.subscribe_api import SUBSCRIBE
from activity.storage.base import Store
from activity.storage.models import Answer, NewItem

QUEUED = "queued"
SKIPPED_NO_SUBSCRIPTION = "skipped_no_subscription"
SKIPPED_NOT_CONFIGURED = "skipped_not_configured"
INVALID = "invalid"
STATUSES = (QUEUED, SKIPPED_NO_SUBSCRIPTION, SKIPPED_NOT_CONFIGURED, INVALID)
MAX_ID_LENGTH = 128

log = logging.getLogger("activity.execute")


@dataclass(frozen=True)
class CallIds:
    activity_id: str
    definition_instance_id: str
    journey_id: str
    contact_key: str


def answer(status: str, *, event_id: str = "", error: str = "", http_status: int = 200) -> Answer:
    return Answer(http_status, {"roktStatus": status, "roktEventId": event_id, "roktError": error})


def body_of(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    # Old docs wrap the body in "contents"; every real capture is flat. Accept both.
    contents = payload.get("contents")
    if "inArguments" not in payload and isinstance(contents, Mapping):
        return contents
    return payload


def text_id(body: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = body.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            # NUL cannot be stored in PostgreSQL text; JB ids never hold one.
            return str(value).strip().replace("\x00", "")[:MAX_ID_LENGTH]
    return ""


def call_ids(body: Mapping[str, Any]) -> CallIds:
    ids = CallIds(
        activity_id=text_id(body, "activityId", "activityObjectID"),
        definition_instance_id=text_id(body, "definitionInstanceId"),
        journey_id=text_id(body, "journeyId"),
        contact_key=text_id(body, "keyValue"),
    )
    missing = [
        name
        for name, value in (
            ("activityId", ids.activity_id),
            ("definitionInstanceId", ids.definition_instance_id),
            ("keyValue", ids.contact_key),
        )
        if not value
    ]
    if missing:
        raise InvalidInput(
            f"the execute body has no {', '.join(missing)}; Journey Builder always sends "
            "these, so this call did not come from a running journey"
        )
    return ids


def log_ids(payload: Mapping[str, Any]) -> dict[str, str]:
    """Journey and activity ids for log lines, read leniently before validation."""
    body = body_of(payload)
    return {
        "journey_id": text_id(body, "journeyId"),
        "activity_id": text_id(body, "activityId", "activityObjectID"),
    }


class _Admission:
    __slots__ = ("_admitted", "_executor")

    def __init__(self, executor: Executor) -> None:
        self._executor = executor
        self._admitted = False

    def __enter__(self) -> bool:
        executor = self._executor
        self._admitted = executor._in_flight < executor._max_in_flight
        executor._in_flight += self._admitted
        return self._admitted

    def __exit__(self, *exc: object) -> None:
        self._executor._in_flight -= self._admitted


class Executor:
    def __init__(
        self,
        store: Store,
        settings: SettingsService,
        clock: Callable[[], float] = time.time,
        max_in_flight: int = 512,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        # The action `subscribe` (wired once the Rokt client exists, see app.py).
        self.subscriber: Subscriber | None = None

    def admitted(self) -> _Admission:
        """Entered, False when too many executes are in flight: shed load (JB retries a 503)
        rather than let memory and latency grow without bound."""
        return _Admission(self)

    async def run(self, payload: Mapping[str, Any]) -> Answer:
        """Decide, then durably record, the answer for one contact. Raises StorageUnavailable
        (and RoktUnavailable for `subscribe`)."""
        body = body_of(payload)
        merged: dict[str, Any] = {}
        try:
            ids = call_ids(body)
            merged = inarguments.merge(body.get("inArguments"))
        except InvalidInput as err:
            # Without ids there is nothing to deduplicate on, so nothing is stored.
            return self._invalid(err, inarguments.on_error_of(merged))
        if merged.get("action") == SUBSCRIBE and self.subscriber is not None:
            key = (ids.activity_id, ids.definition_instance_id)
            return await self.subscriber.run(key, ids.contact_key, merged)
        decided, items = await self._decide(ids, merged)
        recorded, _ = await self._store.accept(
            ids.activity_id, ids.definition_instance_id, decided, items, self._clock()
        )
        return recorded

    def _invalid(self, err: InvalidInput, on_error: str, event_id: str = "") -> Answer:
        log.info("contact invalid", extra={"reason": err.reason})
        return answer(
            INVALID,
            event_id=event_id,
            error=err.message,
            http_status=400 if on_error == "eject" else 200,
        )

    async def _decide(self, ids: CallIds, merged: dict[str, Any]) -> tuple[Answer, list[NewItem]]:
        try:
            plan = events.plan(merged, ids.contact_key)
        except InvalidInput as err:
            return self._invalid(err, inarguments.on_error_of(merged)), []
        found = await self._settings.find(plan.mid, plan.eid)
        if found is None:
            return answer(
                SKIPPED_NOT_CONFIGURED,
                event_id=plan.event_id,
                error=f"business unit {plan.mid or plan.eid} has no Rokt settings",
            ), []
        # Cancel removes the event for everyone; it needs no subscription of this contact.
        if not plan.subscription_ids and plan.action != CANCEL:
            return answer(SKIPPED_NO_SUBSCRIPTION, event_id=plan.event_id), []
        item = NewItem(
            # The MID whose settings were found (maybe the enterprise default's), so the
            # worker finds the same credentials.
            mid=found.mid,
            account_code=found.account_code,
            action=plan.action,
            batch_key=plan.batch_key,
            payload=plan.payload,
            payload_json=plan.payload_json,
            subscription_ids=plan.subscription_ids,
            event_id=plan.event_id,
            journey_id=ids.journey_id,
            activity_id=ids.activity_id,
            definition_instance_id=ids.definition_instance_id,
            contact_key=ids.contact_key,
        )
        return answer(QUEUED, event_id=plan.event_id), [item]
