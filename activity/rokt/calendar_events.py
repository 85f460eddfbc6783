"""A Rokt calendar's events, for the config UI's "Choose an existing event".

GET /v1/{accountCode}/calendars/{calendarId}/events (seed 002) pages with `pageNumber` (from
1) and `pageSize`; the page sits in `result.data` beside `totalPages`. The endpoint cannot
search, so a calendar's events are read whole (at most MAX_PAGES pages), kept briefly in a
TTL cache per account and calendar, and searched and paged here. The business unit's access
token comes from the shared TokenCache and never leaves the server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp
from cachetools import TTLCache

from activity import remote_json
from activity.errors import RoktAuthFailed, RoktRejected, RoktRetryable
from activity.rokt.client import error_text
from activity.rokt.retry import is_retryable

if TYPE_CHECKING:
    from activity.admin.settings_service import RoktAccount
    from activity.rokt.token_cache import TokenCache

PAGE_SIZE = 100  # what we ask Rokt for
MAX_PAGES = 20  # at most 2,000 events per calendar
CACHE_SECONDS = 60.0
# The whole read, every page: the editor waits for it, so a Rokt that answers each page just
# inside the request timeout must not hold it for MAX_PAGES timeouts.
DEADLINE_SECONDS = 15.0


@dataclass(frozen=True)
class CalendarEvent:
    id: str
    title: str
    description: str
    location: str
    timezone: str  # Windows name (Rokt's timezoneBclId)
    timezone_iana: str
    start: str  # local wall time as Rokt lists it
    end: str
    notify_before: int | None

    def matches(self, words: list[str]) -> bool:
        text = f"{self.id} {self.title} {self.description} {self.location}".casefold()
        return all(w in text for w in words)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "location": self.location,
            "timezone": self.timezone,
            "timezoneIanaId": self.timezone_iana,
            "start": self.start,
            "end": self.end,
            "notifyBefore": self.notify_before,
        }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def event_from(raw: Any) -> CalendarEvent | None:
    if not isinstance(raw, dict) or not _text(raw.get("id")):
        return None
    reminder = raw.get("reminderMinutes")
    return CalendarEvent(
        id=_text(raw.get("id")),
        title=_text(raw.get("title")),
        description=_text(raw.get("description")),
        location=_text(raw.get("location")),
        timezone=_text(raw.get("timezoneBclId")),
        timezone_iana=_text(raw.get("timezoneIanaId")),
        start=_text(raw.get("startDateTimeLocal")),
        end=_text(raw.get("endDateTimeLocal")),
        notify_before=reminder if isinstance(reminder, int) and reminder >= 0 else None,
    )


class CalendarEvents:
    """Reads calendars through Rokt and remembers them for CACHE_SECONDS."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        api_url: str,
        tokens: TokenCache,
        *,
        clock: Callable[[], float] = time.monotonic,
        deadline: float = DEADLINE_SECONDS,
    ) -> None:
        self._http = http
        self._deadline = deadline
        self._api_url = api_url.rstrip("/")
        self._tokens = tokens
        self._cache: TTLCache[tuple[str, str, str], tuple[CalendarEvent, ...]] = TTLCache(
            maxsize=256, ttl=CACHE_SECONDS, timer=clock
        )
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}

    async def events(self, account: RoktAccount, calendar_id: str) -> tuple[CalendarEvent, ...]:
        """Every event of the calendar; raises RoktRejected (404: unknown calendar, other
        4xx), RoktAuthFailed or RoktRetryable."""
        key = (account.account_code, account.client_id, calendar_id)
        if key in self._cache:
            return self._cache[key]
        async with self._locks.setdefault(key, asyncio.Lock()):
            if key not in self._cache:
                try:
                    async with asyncio.timeout(self._deadline):
                        self._cache[key] = await self._read_all(account, calendar_id)
                except TimeoutError:
                    raise RoktRetryable(
                        f"Rokt did not list calendar {calendar_id} within {self._deadline:g} s"
                    ) from None
            return self._cache[key]

    async def _read_all(self, account: RoktAccount, calendar_id: str) -> tuple[CalendarEvent, ...]:
        found: list[CalendarEvent] = []
        for page in range(1, MAX_PAGES + 1):
            body = await self._page(account, calendar_id, page)
            result = body.get("result")
            result = result if isinstance(result, dict) else {}
            data = result.get("data")
            data = data if isinstance(data, list) else []
            found += [e for e in map(event_from, data) if e is not None]
            pages = result.get("totalPages")
            if not data or not isinstance(pages, int) or page >= pages:
                break
        return tuple(found)

    async def _page(self, account: RoktAccount, calendar_id: str, page: int) -> dict[str, Any]:
        path = (
            f"/v1/{quote(account.account_code, safe='')}/calendars/"
            f"{quote(calendar_id, safe='')}/events?pageNumber={page}&pageSize={PAGE_SIZE}"
        )
        token = await self._tokens.get(account)
        status, body = await self._get(token, path)
        if status == 401:
            self._tokens.invalidate(account, token)
            status, body = await self._get(await self._tokens.get(account), path)
            if status == 401:
                raise RoktAuthFailed("Rokt refused a freshly granted access token", status=401)
        if status == 200 and isinstance(body, dict):
            return body
        reason = f"Rokt answered HTTP {status}: {error_text(str(body))}"
        if is_retryable(status):
            raise RoktRetryable(reason, status=status)
        raise RoktRejected(reason, status=status)

    async def _get(self, token: str, path: str) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        try:
            async with self._http.get(f"{self._api_url}{path}", headers=headers) as resp:
                raw = await remote_json.read_capped(resp.content)
                text = raw.decode("utf-8", errors="replace")
                if resp.status != 200:
                    return resp.status, text
                data = remote_json.loads(raw) if len(raw) <= remote_json.MAX_ANSWER_BYTES else None
                return (200, data) if isinstance(data, dict) else (502, text)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise RoktRetryable(f"Rokt unreachable: {type(exc).__name__}") from None
