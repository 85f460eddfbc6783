"""Execute for the action `subscribe`: Rokt is called inside the request, because the next
activity (an email) needs the subscription's URL.

Once per (activityId, definitionInstanceId): the answer on record is returned without calling
Rokt; otherwise one task per key calls Rokt (a concurrent duplicate waits for it), and its
answer is stored before anyone gets it. Between processes, or after a crash between Rokt's
answer and the write, a second call can reach Rokt; Rokt answers the same subscriber on the
same calendar with the existing subscription, so the ID and URL stay the same.

A slow Rokt cannot exhaust the service: at most `concurrency` subscribe calls talk to Rokt at
once, at most WAITING_PER_SLOT times as many wait or talk (more are refused at once), and each
execute gives up after `timeout` seconds in all (waiting for a slot, the token, the call) with
a 503, which JB retries. See docs/subscribe.md for the numbers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from activity.config import ConfigError
from activity.errors import InvalidInput, RoktAuthFailed, RoktError, RoktRejected, RoktRetryable
from activity.journey import subscribe_args
from activity.journey.inarguments import mid_of, on_error_of
from activity.rokt.subscribe_api import subscribe_request, subscribed
from activity.storage.models import Answer

if TYPE_CHECKING:
    from activity.admin.settings_service import SettingsService
    from activity.rokt.client import RoktClient
    from activity.storage.base import Store

SUBSCRIBED = "subscribed"
INVALID = "invalid"
SKIPPED_NOT_CONFIGURED = "skipped_not_configured"
DEFAULT_CONCURRENCY = 32
DEFAULT_TIMEOUT_SECONDS = 8.0
# Subscribes at Rokt or waiting for a slot, per slot: beyond it a new one is refused at once, so
# a slow Rokt holds a bounded share of the executes in flight and the event actions keep theirs.
WAITING_PER_SLOT = 4

log = logging.getLogger("activity.subscribe")
Key = tuple[str, str]


class RoktUnavailable(RoktRetryable):
    """Rokt could not give an answer in time (unreachable, 429, 5xx, too slow): 503."""

    reason = "rokt_unavailable"


def answer(
    status: str, *, subscription_id: str = "", url: str = "", error: str = "", http: int = 200
) -> Answer:
    return Answer(
        http,
        {
            "roktStatus": status,
            "roktSubscriptionId": subscription_id,
            "roktSubscriptionUrl": url,
            "roktError": error,
        },
    )


class Subscriber:
    def __init__(
        self,
        store: Store,
        settings: SettingsService,
        client: RoktClient,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._settings = settings
        self._client = client
        self._slots = asyncio.Semaphore(concurrency)
        self._max_waiting = WAITING_PER_SLOT * concurrency
        self._waiting = 0
        self._timeout = timeout
        self._clock = clock
        self._flights: dict[Key, asyncio.Future[Answer]] = {}

    async def run(self, key: Key, contact_key: str, merged: Mapping[str, Any]) -> Answer:
        """The answer for this call; raises RoktUnavailable (503) or StorageUnavailable."""
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(self._once(key, contact_key, merged))
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._landed(key, done))
        # Shielded: a caller that goes away does not cancel the call the others wait for.
        return await asyncio.shield(flight)

    def _landed(self, key: Key, flight: asyncio.Future[Answer]) -> None:
        self._flights.pop(key, None)
        if not flight.cancelled():
            flight.exception()  # retrieved: every caller may have gone before it failed

    async def _once(self, key: Key, contact_key: str, merged: Mapping[str, Any]) -> Answer:
        found = await self._store.find_answer(*key)
        if found is not None:
            return found
        decided, mid = await self._decide(contact_key, merged)
        recorded, _ = await self._store.accept(key[0], key[1], decided, [], self._clock(), mid=mid)
        return recorded

    async def _decide(
        self, contact_key: str, merged: Mapping[str, Any]
    ) -> tuple[Answer, str | None]:
        """The answer and the business unit it is stored for: the MID whose Rokt account
        was used, else the one the inArguments name."""
        on_error, named = on_error_of(merged), mid_of(merged)
        try:
            args = subscribe_args.parse(merged, contact_key)
        except InvalidInput as err:
            log.info("contact invalid", extra={"reason": err.reason})
            return self._invalid(err.message, on_error), named
        try:
            account = await self._settings.account_for(args.mid, args.eid)
        except ConfigError:
            log.warning("rokt secret unreadable", extra={"mid": args.mid})
            return answer(
                SKIPPED_NOT_CONFIGURED,
                error=f"business unit {args.mid or args.eid}'s stored Rokt client secret cannot "
                "be decrypted with ACTIVITY_ENCRYPTION_KEY; an admin saves the settings again",
            ), named
        if account is None:
            return answer(
                SKIPPED_NOT_CONFIGURED,
                error=f"business unit {args.mid or args.eid} has no Rokt settings",
            ), named
        request = subscribe_request(account.account_code, args.calendar_code, args.body())
        if self._waiting >= self._max_waiting:
            raise RoktUnavailable(
                f"{self._waiting} subscriptions are already waiting for Rokt; retry", status=None
            )
        self._waiting += 1
        try:
            async with asyncio.timeout(self._timeout):
                async with self._slots:
                    result = subscribed(await self._client.fetch(account, request))
        except TimeoutError:
            raise RoktUnavailable(
                f"Rokt did not create the subscription within {self._timeout:g} s; retry"
            ) from None
        except RoktRetryable as err:
            raise RoktUnavailable(err.message, status=err.status) from None
        except (RoktRejected, RoktAuthFailed) as err:
            log.info("subscribe refused by Rokt", extra={"reason": err.reason})
            return self._invalid(err.message, on_error), account.mid
        except RoktError as err:  # an unexpected answer from the token endpoint
            raise RoktUnavailable(err.message, status=err.status) from None
        finally:
            self._waiting -= 1
        return answer(
            SUBSCRIBED, subscription_id=result.subscription_id, url=result.url
        ), account.mid

    @staticmethod
    def _invalid(message: str, on_error: str) -> Answer:
        return answer(INVALID, error=message, http=400 if on_error == "eject" else 200)
