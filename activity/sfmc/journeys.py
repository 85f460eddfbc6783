"""Journey names from Marketing Cloud's journey API, for business units with a connection.

Journey Builder's lifecycle calls carry journey ids, not names. When the Deliveries page meets
a journey it has no name for, and the business unit has a Marketing Cloud connection, it asks
`GET {rest}/interaction/v1/interactions/{id}` and keeps the `name` it gets. At most a few
journeys per page view, the cached access token, a short timeout, and a journey Marketing
Cloud could not name is not asked about again for a while: the page never waits long.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from urllib.parse import quote

import aiohttp

from activity import remote_json
from activity.errors import SfmcError
from activity.journey.journey_names import MAX_ID_LENGTH, clean_name
from activity.sfmc.connections import ConnectionService
from activity.sfmc.tokens import SfmcTokens
from activity.storage.base import Store
from activity.storage.delivery_views import FROM_MARKETING_CLOUD, JourneyName

log = logging.getLogger("activity.sfmc.journeys")

MAX_LOOKUPS = 5  # per page view
TIMEOUT_SECONDS = 3.0  # for all of them together
RETRY_AFTER_SECONDS = 15 * 60  # before asking again about a journey that got no name
MAX_ANSWER_BYTES = 1 << 20


class JourneyNamer:
    def __init__(
        self,
        connections: ConnectionService,
        tokens: SfmcTokens,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._connections = connections
        self._tokens = tokens
        self._clock = clock
        self._unnamed_until: dict[tuple[str, str], float] = {}

    async def name(
        self, http: aiohttp.ClientSession, store: Store, mid: str, journey_ids: Sequence[str]
    ) -> dict[str, JourneyName]:
        """Names found for `journey_ids` (those without one in the store), stored as found."""
        now = self._clock()
        wanted = [
            j
            for j in dict.fromkeys(journey_ids)
            if j and len(j) <= MAX_ID_LENGTH and self._unnamed_until.get((mid, j), 0) <= now
        ][:MAX_LOOKUPS]
        if not wanted or await self._connections.get(mid) is None:
            return {}
        for journey_id in wanted:  # asked now: not again for a while, whatever the outcome
            self._unnamed_until[(mid, journey_id)] = now + RETRY_AFTER_SECONDS
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                access = await self._tokens.get(mid)
                base = access.rest_url.rstrip("/")
                found = await asyncio.gather(*(_fetch(http, base, access.token, j) for j in wanted))
        except (TimeoutError, SfmcError, aiohttp.ClientError) as exc:
            log.info(
                "journey names not fetched from Marketing Cloud",
                extra={"mid": mid, "reason": getattr(exc, "reason", type(exc).__name__)},
            )
            return {}
        named = {}
        for journey_id, answer in zip(wanted, found, strict=True):
            if answer is None:
                continue
            name, key, version = answer
            journey = JourneyName(journey_id, name, key, version, FROM_MARKETING_CLOUD, now)
            await store.put_journey_name(journey)
            named[journey_id] = journey
            self._unnamed_until.pop((mid, journey_id), None)
        return named


async def _fetch(
    http: aiohttp.ClientSession, base: str, access_token: str, journey_id: str
) -> tuple[str, str, str] | None:
    """(name, key, version) of one journey, or None when Marketing Cloud gives no name."""
    url = f"{base}/interaction/v1/interactions/{quote(journey_id, safe='')}"
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    async with http.get(url, headers=headers, allow_redirects=False) as resp:
        raw = await remote_json.read_capped(resp.content, MAX_ANSWER_BYTES)
        if resp.status == 403:
            # The connection's token lacks `journeys_read` (a sign-in asks only for
            # SFMC_SCOPES): say so, or names stay missing without a word.
            raise SfmcError(
                "Marketing Cloud refused to read journeys (403): the connection needs the "
                "journeys_read scope (SFMC_SCOPES and the package's API integration)",
                status=403,
                reason="missing_scope",
            )
        if resp.status != 200 or len(raw) > MAX_ANSWER_BYTES:
            return None
    body = remote_json.loads(raw)
    if not isinstance(body, dict) or body.get("id") not in (None, journey_id):
        return None
    name = clean_name(body.get("name"))
    if not name:
        return None
    version = body.get("version")
    return name, clean_name(body.get("key")), clean_name(str(version) if version else "")
