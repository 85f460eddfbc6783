"""The execute pipeline: one JB call for one contact becomes one durable, idempotent answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from activity import ids as identities
from activity.admin.settings_service import SettingsService
from activity.errors import InvalidInput
from activity.events import plan as events
from activity.frozen import quick_init
from activity.journey import inarguments
from activity.journey.subscribing import Subscriber
from activity.journey.text_checks import lone_surrogate
from activity.rokt.api_requests import CANCEL
from activity.rokt.subscribe_api import SUBSCRIBE
from activity.storage.base import Store
from activity.storage.models import Answer, NewItem

QUEUED = "queued"
SKIPPED_NO_SUBSCRIPTION = "skipped_no_subscription"
SKIPPED_NOT_CONFIGURED = "skipped_not_configured"
INVALID = "invalid"
STATUSES = (QUEUED, SKIPPED_NO_SUBSCRIPTION, SKIPPED_NOT_CONFIGURED, INVALID)
# Longer activity, journey and definitionInstance ids are kept as a prefix and a hash of the
# whole (activity.ids.fit), never cut; the contact key is kept whole.
MAX_ID_LENGTH = 128

log = logging.getLogger("activity.execute")


@quick_init
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
    """The first of `keys` holding a non-blank string or integer, stripped and whole."""
    for key in keys:
        value = body.get(key)
        if type(value) is str or (isinstance(value, str | int) and not isinstance(value, bool)):
            text = str(value).strip()
            if text:
                return text
    return ""


def call_ids(body: Mapping[str, Any]) -> CallIds:
    named = (
        ("activityId", text_id(body, "activityId", "activityObjectID")),
        ("definitionInstanceId", text_id(body, "definitionInstanceId")),
        ("journeyId", text_id(body, "journeyId")),
        ("keyValue", text_id(body, "keyValue")),
    )
    missing = [name for name, value in named if not value and name != "journeyId"]
    if missing:
        raise InvalidInput(
            f"the execute body has no {', '.join(missing)}; Journey Builder always sends "
            "these, so this call did not come from a running journey"
        )
    for name, value in named:
        # Neither can be stored (PostgreSQL text holds no NUL) nor sent; JB ids never hold one.
        if "\x00" in value:
            problem = "a NUL character"
        elif mark := lone_surrogate(value):
            problem = f"a lone surrogate ({mark})"
        else:
            continue
        raise InvalidInput(
            f"{name} contains {problem}, which is not text; expected the id as Journey "
            "Builder sends it",
            reason="invalid_text",
        )
    (_, activity_id), (_, instance_id), (_, journey_id), (_, contact_key) = named
    return CallIds(
        activity_id=identities.fit(activity_id, MAX_ID_LENGTH),
        definition_instance_id=identities.fit(instance_id, MAX_ID_LENGTH),
        journey_id=identities.fit(journey_id, MAX_ID_LENGTH),
        contact_key=contact_key,
    )


def log_ids(payload: Mapping[str, Any]) -> dict[str, str]:
    """Journey and activity ids for log lines, read leniently before validation."""
    body = body_of(payload)
    return {
        "journey_id": text_id(body, "journeyId")[:MAX_ID_LENGTH],
        "activity_id": text_id(body, "activityId", "activityObjectID")[:MAX_ID_LENGTH],
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

    async def run(self, payload: Mapping[str, Any], *, plain: bool = False) -> Answer:
        """Decide, then durably record, the answer for one contact. Raises StorageUnavailable
        (and RoktUnavailable for `subscribe`). `plain`: see `text_checks.plain_json`."""
        body = body_of(payload)
        try:
            ids = call_ids(body)
            merged = inarguments.merge(body.get("inArguments"), plain=plain)
        except InvalidInput as err:
            # Without ids there is nothing to deduplicate on, so nothing is stored. onError
            # comes from the raw inArguments: the ids, or another field, may be what is wrong.
            return self._invalid(err, inarguments.on_error_in(body.get("inArguments")))
        if merged.get("action") == SUBSCRIBE and self.subscriber is not None:
            key = (ids.activity_id, ids.definition_instance_id)
            return await self.subscriber.run(key, ids.contact_key, merged)
        decided, items, mid = await self._decide(ids, merged)
        recorded, _ = await self._store.accept(
            ids.activity_id, ids.definition_instance_id, decided, items, self._clock(), mid=mid
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

    async def _decide(
        self, ids: CallIds, merged: dict[str, Any]
    ) -> tuple[Answer, list[NewItem], str | None]:
        """The answer, its outbox items, and the business unit it is stored for: the MID
        whose settings were found (as on the items), else the one the inArguments name."""
        try:
            plan = events.plan(merged, ids.contact_key)
        except InvalidInput as err:
            return (
                self._invalid(err, inarguments.on_error_of(merged)),
                [],
                inarguments.mid_of(merged),
            )
        found = await self._settings.find(plan.mid, plan.eid)
        if found is None:
            return (
                answer(
                    SKIPPED_NOT_CONFIGURED,
                    event_id=plan.event_id,
                    error=f"business unit {plan.mid or plan.eid} has no Rokt settings",
                ),
                [],
                inarguments.mid_of(merged),
            )
        # Cancel removes the event for everyone; it needs no subscription of this contact.
        if not plan.subscription_ids and plan.action != CANCEL:
            return answer(SKIPPED_NO_SUBSCRIPTION, event_id=plan.event_id), [], found.mid
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
        return answer(QUEUED, event_id=plan.event_id), [item], found.mid
