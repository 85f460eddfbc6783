"""Start and end: local wall times in the event's time zone, as Rokt gets them.

Decisions:
- Times are local wall times in `timezone`, sent to Rokt as "YYYY-MM-DDTHH:MM:SS". A time in a
  DST gap (it never happens on the clock) is rejected; an ambiguous time in a DST overlap
  means its first occurrence (for the UTC preview; Rokt gets the wall time as written).
- All-day events cover the days from start's date to end's date, inclusive: start is sent as
  00:00:00 of its date, end as 00:00:00 of the day after end's date (iCalendar's exclusive
  end). An end given with a time of exactly 00:00 on a later day is taken as already
  exclusive. Without an end an all-day event lasts one day; dates may omit the time.
- Dates run from 0001-01-02 to 9999-12-30: a day inside Python's (and the calendar's) years
  1-9999 on either side, so every UTC offset (up to 14 hours) and an all-day end's next
  midnight stay representable. Outside it the field is invalid, never a server error.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from activity.errors import InvalidInput
from activity.events import placeholders, timezones

WALL_TIME = "YYYY-MM-DDTHH:MM[:SS]"
FIRST_DAY = date(1, 1, 2)
LAST_DAY = date(9999, 12, 30)
OUT_OF_RANGE = "out_of_range"
MISSING_END = f"end is missing; expected a local time {WALL_TIME}"

_WALL = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,7})?)?)?")


def span(
    start: datetime,
    end: datetime | None,
    zone: timezones.Zone,
    all_day: bool,
    end_is_date: bool = False,
) -> tuple[datetime, datetime, datetime, datetime]:
    """Local start and end as sent, and their UTC instants; checks order and DST gaps."""
    if all_day:
        first = start.date()
        last = end.date() if end is not None else first
        exclusive = end is not None and not end_is_date and end.time() == time(0) and last > first
        start = datetime.combine(first, time(0))
        end = datetime.combine(last if exclusive else last + timedelta(days=1), time(0))
    elif end is None:
        raise InvalidInput(MISSING_END)
    # All-day midnights may fall in a DST gap (e.g. America/Santiago); they are dates, not times.
    start_utc = timezones.to_utc(start, zone, field="start", strict=not all_day)
    end_utc = timezones.to_utc(end, zone, field="end", strict=not all_day)
    if end_utc < start_utc:
        raise InvalidInput(
            f"end {end.isoformat(timespec='minutes')} is before start "
            f"{start.isoformat(timespec='minutes')}; expected an end at or after the start"
        )
    return start, end, start_utc, end_utc


def wall_time(value: Any, field: str, all_day: bool) -> datetime:
    text = value.strip() if isinstance(value, str) else ""
    match = _WALL.fullmatch(text)
    expected = f"expected a local time {WALL_TIME}" + (" or a date YYYY-MM-DD" if all_day else "")
    if match is None:
        shown = _clip(text) if isinstance(value, str) else placeholders.as_text(value)
        raise InvalidInput(f"{field} is {_clip(shown)!r}; {expected}")
    year, month, day, hour, minute, second = match.groups()
    if hour is None and not all_day:
        raise InvalidInput(f"{field} is {text!r}, a date without a time; {expected} (or allDay)")
    try:
        day_ = date(int(year), int(month), int(day))
        clock = time(int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        raise InvalidInput(f"{field} is {text!r}, not a real date or time; {expected}") from None
    if not FIRST_DAY <= day_ <= LAST_DAY:
        raise InvalidInput(
            f"{field} is {text!r}, outside the dates a calendar event can have; expected a "
            f"date from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}",
            reason=OUT_OF_RANGE,
        )
    return datetime.combine(day_, clock)


def is_date(value: Any) -> bool:
    match = _WALL.fullmatch(value.strip()) if isinstance(value, str) else None
    return match is not None and match.group(4) is None


def iso_utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
