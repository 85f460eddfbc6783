"""Time zones as Rokt needs them: a Windows name (`timezone`) and an IANA id (`timezoneIanaId`).

The Windows <-> IANA mapping is tzlocal's copy of the CLDR windowsZones table; the rules come
from zoneinfo with the tzdata package. Nothing here is typed by hand.

An IANA id that the CLDR table does not list (older aliases such as `US/East-Indiana` or
`EST5EDT`, or `GMT`) is matched by content: if its tzdata file is byte-identical to a listed
zone (tzdata links are copies), it takes that zone's Windows name. Zones with no Windows
equivalent at all (`Antarctica/Troll`, `Factory`) are rejected rather than silently sent as
UTC; only zones whose data is identical to UTC become Windows "UTC".
"""

from __future__ import annotations

import hashlib
import importlib.resources
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from tzlocal.windows_tz import tz_win, win_tz

from activity.errors import InvalidInput

UNKNOWN_TIMEZONE = "unknown_timezone"


@dataclass(frozen=True)
class Zone:
    windows: str
    iana: str

    @property
    def info(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.iana)


def resolve(name: str) -> Zone:
    """A Windows name or an IANA id (case-insensitive) -> both names; InvalidInput if unknown.

    A Windows name gets the CLDR's IANA id for it. An IANA id is kept as given (spelled as
    tzdata spells it): the marketer chose it, and CLDR's ids lag renames (`Europe/Kiev`).
    """
    key = name.strip() if isinstance(name, str) else ""
    if not key:
        raise InvalidInput(
            "timezone is empty; expected a Windows time zone name such as 'Eastern Standard "
            "Time' or an IANA id such as 'America/New_York'",
            reason=UNKNOWN_TIMEZONE,
        )
    zone = _lookup(key.casefold())
    if zone is None:
        raise InvalidInput(
            f"timezone {_short(key)!r} is not a known time zone; expected a Windows time zone "
            "name such as 'Eastern Standard Time' or an IANA id such as 'America/New_York'",
            reason=UNKNOWN_TIMEZONE,
        )
    return zone


def all_zones() -> list[Zone]:
    """Every Windows zone with its canonical IANA id, by standard UTC offset, then name."""
    return list(_all_zones())


def standard_offset(zone: Zone, at: datetime | None = None) -> timedelta:
    """The zone's standard (non-DST) offset at `at` (default: now)."""
    moment = (at or datetime.now(UTC)).astimezone(zone.info)
    return (moment.utcoffset() or timedelta(0)) - (moment.dst() or timedelta(0))


def to_utc(local: datetime, zone: Zone, *, field: str = "time", strict: bool = True) -> datetime:
    """A naive wall time in `zone` -> its UTC instant.

    In a DST overlap the first occurrence is meant (fold=0). A time in a DST gap does not
    exist: with `strict` it is InvalidInput (reason "invalid_time"); otherwise it is read with
    the offset before the gap, i.e. shifted forward by the gap's length.
    """
    instant = local.replace(tzinfo=zone.info, fold=0).astimezone(UTC)
    if strict and instant.astimezone(zone.info).replace(tzinfo=None) != local:
        raise InvalidInput(
            f"{field} {local.isoformat(timespec='minutes')} does not exist in {zone.windows} "
            "(the clocks skip it for daylight saving time); expected a time outside the gap",
            reason="invalid_time",
        )
    return instant


@lru_cache(maxsize=1)
def _all_zones() -> tuple[Zone, ...]:
    zones = [Zone(windows, iana) for windows, iana in win_tz.items()]
    return tuple(sorted(zones, key=lambda z: (standard_offset(z), z.windows)))


@lru_cache(maxsize=1024)
def _lookup(folded: str) -> Zone | None:
    windows = _windows_names().get(folded)
    if windows is not None:
        return Zone(windows, win_tz[windows])
    iana = _iana_ids().get(folded)
    if iana is None:
        return None
    windows = tz_win.get(iana) or _windows_by_content().get(_digest(iana) or "")
    return None if windows is None else Zone(windows, iana)


@lru_cache(maxsize=1)
def _windows_names() -> dict[str, str]:
    return {windows.casefold(): windows for windows in win_tz}


@lru_cache(maxsize=1)
def _iana_ids() -> dict[str, str]:
    return {iana.casefold(): iana for iana in zoneinfo.available_timezones()}


@lru_cache(maxsize=1)
def _windows_by_content() -> dict[str, str]:
    """tzdata file digest -> Windows name, for every IANA id the CLDR table lists."""
    found: dict[str, str] = {}
    for iana, windows in sorted(tz_win.items()):
        digest = _digest(iana)
        if digest is not None:
            found.setdefault(digest, windows)
    return found


@lru_cache(maxsize=2048)
def _digest(iana: str) -> str | None:
    try:
        path = importlib.resources.files("tzdata").joinpath("zoneinfo", *iana.split("/"))
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (OSError, ValueError):
        return None


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
