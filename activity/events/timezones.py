"""Time zones as Rokt needs them: a Windows name (`timezone`) and an IANA id (`timezoneIanaId`).

One time-zone database: every rule comes from the pinned pip `tzdata` package (see
pyproject.toml), read straight from its files with `ZoneInfo.from_file`. The system's tz files,
`TZ`, `PYTHONTZPATH` and `zoneinfo.TZPATH` are never consulted, so conversion, validation and
the editor's preview give the same answer on every machine and in the Docker image.

The Windows <-> IANA mapping is CLDR's windowsZones table (the names Windows itself uses, and so
the ones Rokt is most likely to know), shipped as `windows_zones.json` and regenerated from the
npm `cldr-core` release pinned in package.json by `python -m activity.devtools.windows_zones_gen`.
Rokt also always gets `timezoneIanaId`, which carries the exact rules.

An IANA id that the CLDR table does not list (older aliases such as `US/East-Indiana` or
`EST5EDT`, newer names such as `Europe/Kyiv`, or `GMT`) is matched by content: if its tzdata
file is byte-identical to a listed zone (tzdata links are copies), it takes that zone's Windows
name. Zones with no Windows equivalent at all (`Antarctica/Troll`, `Factory`) are rejected
rather than silently sent as UTC; only zones whose data is identical to UTC become Windows "UTC".
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from importlib.resources.abc import Traversable
from typing import Any

import tzdata

from activity.errors import InvalidInput

UNKNOWN_TIMEZONE = "unknown_timezone"
# The IANA release of the pinned tzdata package, e.g. "2026f".
TZDATA_VERSION: str = tzdata.IANA_VERSION


@dataclass(frozen=True)
class Zone:
    windows: str
    iana: str

    @property
    def info(self) -> zoneinfo.ZoneInfo:
        return zone_info(self.iana)


def zone_info(iana: str) -> zoneinfo.ZoneInfo:
    """The rules of an IANA id (as tzdata spells it) from the pinned tzdata package."""
    if iana not in _tzdata_ids():
        raise zoneinfo.ZoneInfoNotFoundError(f"No time zone found with key {iana}")
    return _load(iana)


def cldr_version() -> str:
    return str(_cldr()["cldrVersion"])


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
    try:
        instant = local.replace(tzinfo=zone.info, fold=0).astimezone(UTC)
        back = instant.astimezone(zone.info).replace(tzinfo=None)
    except OverflowError:  # within a day of year 1 or 9999, past what datetime holds
        raise InvalidInput(
            f"{field} {local.isoformat(timespec='minutes')} in {zone.windows} is outside the "
            "times a calendar event can have; expected a date from 0001-01-02 to 9999-12-30",
            reason="out_of_range",
        ) from None
    if strict and back != local:
        raise InvalidInput(
            f"{field} {local.isoformat(timespec='minutes')} does not exist in {zone.windows} "
            "(the clocks skip it for daylight saving time); expected a time outside the gap",
            reason="invalid_time",
        )
    return instant


@lru_cache(maxsize=1)
def _all_zones() -> tuple[Zone, ...]:
    zones = [Zone(windows, iana) for windows, iana in _windows_to_iana().items()]
    return tuple(sorted(zones, key=lambda z: (standard_offset(z), z.windows)))


@lru_cache(maxsize=1024)
def _lookup(folded: str) -> Zone | None:
    windows = _windows_names().get(folded)
    if windows is not None:
        return Zone(windows, _windows_to_iana()[windows])
    iana = _iana_ids().get(folded)
    if iana is None:
        return None
    windows = _iana_to_windows().get(iana) or _windows_by_content().get(_digest(iana) or "")
    return None if windows is None else Zone(windows, iana)


@lru_cache(maxsize=1)
def _cldr() -> dict[str, Any]:
    text = importlib.resources.files(__package__).joinpath("windows_zones.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def _windows_to_iana() -> dict[str, str]:
    found: dict[str, str] = _cldr()["windowsToIana"]
    return found


def _iana_to_windows() -> dict[str, str]:
    found: dict[str, str] = _cldr()["ianaToWindows"]
    return found


@lru_cache(maxsize=1)
def _windows_names() -> dict[str, str]:
    return {windows.casefold(): windows for windows in _windows_to_iana()}


def _tzdata_root() -> Traversable:
    return importlib.resources.files("tzdata").joinpath("zoneinfo")


@lru_cache(maxsize=1)
def _tzdata_ids() -> frozenset[str]:
    """Every zone the pinned tzdata ships (its `zones` index), links included."""
    listed = importlib.resources.files("tzdata").joinpath("zones").read_text()
    return frozenset(line.strip() for line in listed.splitlines() if line.strip())


@lru_cache(maxsize=1)
def _iana_ids() -> dict[str, str]:
    return {iana.casefold(): iana for iana in _tzdata_ids()}


@cache
def _load(iana: str) -> zoneinfo.ZoneInfo:
    # from_file, not ZoneInfo(key): the constructor searches zoneinfo.TZPATH (the system's
    # files, or PYTHONTZPATH) before the tzdata package.
    with _tzdata_root().joinpath(*iana.split("/")).open("rb") as source:
        return zoneinfo.ZoneInfo.from_file(source, key=iana)


@lru_cache(maxsize=1)
def _windows_by_content() -> dict[str, str]:
    """tzdata file digest -> Windows name, for every IANA id the CLDR table lists."""
    found: dict[str, str] = {}
    for iana, windows in sorted(_iana_to_windows().items()):
        digest = _digest(iana)
        if digest is not None:
            found.setdefault(digest, windows)
    return found


@lru_cache(maxsize=2048)
def _digest(iana: str) -> str | None:
    if iana not in _tzdata_ids():
        return None
    try:
        return hashlib.sha256(_tzdata_root().joinpath(*iana.split("/")).read_bytes()).hexdigest()
    except OSError:
        return None


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
