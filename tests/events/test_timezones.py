from __future__ import annotations

import json
import os
import subprocess
import sys
import zoneinfo
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import pytest
import tzdata

from activity.errors import InvalidInput
from activity.events.timezones import (
    TZDATA_VERSION,
    Zone,
    all_zones,
    resolve,
    standard_offset,
    to_utc,
    zone_info,
)

ROOT = Path(__file__).resolve().parents[2]
CLDR_TABLE = ROOT / "node_modules" / "cldr-core" / "supplemental" / "windowsZones.json"


def cldr_rows() -> list[dict[str, str]]:
    """CLDR's own windowsZones rows, from the npm cldr-core that `make install` installs."""
    table = json.loads(CLDR_TABLE.read_text())
    return [row["mapZone"] for row in table["supplemental"]["windowsZones"]["mapTimezones"]]


def cldr_default_zones() -> dict[str, str]:
    return {z["_other"]: z["_type"].split()[0] for z in cldr_rows() if z["_territory"] == "001"}


EASTERN = Zone("Eastern Standard Time", "America/New_York")


def test_windows_name_gets_its_iana_id() -> None:
    assert resolve("Eastern Standard Time") == EASTERN
    assert resolve("  eastern STANDARD time ") == EASTERN
    assert resolve("AUS Eastern Standard Time") == Zone(
        "AUS Eastern Standard Time", "Australia/Sydney"
    )


def test_iana_id_gets_its_windows_name_and_keeps_its_spelling() -> None:
    assert resolve("America/New_York") == EASTERN
    assert resolve("america/new_york") == EASTERN
    assert resolve("Europe/Berlin") == Zone("W. Europe Standard Time", "Europe/Berlin")
    assert resolve("Europe/Kyiv") == Zone("FLE Standard Time", "Europe/Kyiv")
    assert resolve("Asia/Kolkata").windows == "India Standard Time"


def test_aliases_zoneinfo_knows_resolve() -> None:
    assert resolve("US/Eastern") == Zone("Eastern Standard Time", "US/Eastern")
    # Not in the CLDR table: matched through identical tzdata content.
    assert resolve("US/East-Indiana").windows == "US Eastern Standard Time"
    assert resolve("GMT") == Zone("UTC", "GMT")


def test_only_utc_like_zones_become_utc() -> None:
    assert resolve("UTC") == Zone("UTC", "Etc/UTC")
    assert resolve("Etc/UTC").windows == "UTC"
    assert resolve("Etc/GMT+5").windows == "SA Pacific Standard Time"


@pytest.mark.parametrize(
    "name", ["", "   ", "Mars/Base", "Antarctica/Troll", "Factory", "../../etc/passwd"]
)
def test_unknown_or_windowsless_zone_is_rejected_not_utc(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve(name)
    assert caught.value.reason == "unknown_timezone"
    assert "expected a Windows time zone name such as 'Eastern Standard Time'" in (
        caught.value.message
    )


def test_unknown_message_quotes_the_name() -> None:
    with pytest.raises(InvalidInput, match=r"^timezone 'Mars/Base' is not a known time zone;"):
        resolve("Mars/Base")


def test_every_cldr_windows_zone_round_trips_both_ways() -> None:
    defaults = cldr_default_zones()
    assert len(defaults) > 130
    for windows, iana in defaults.items():
        assert resolve(windows) == Zone(windows, iana)
        assert resolve(iana).windows == windows


def test_every_iana_id_in_cldr_gets_the_windows_name_cldr_gives_it() -> None:
    for row in cldr_rows():
        for iana in row["_type"].split():
            if iana in tzdata_ids():
                assert resolve(iana).windows == row["_other"], iana


@pytest.mark.parametrize(
    ("iana", "windows"),
    [
        ("America/Vancouver", "Pacific Standard Time"),
        ("America/Edmonton", "Mountain Standard Time"),
        ("America/Winnipeg", "Central Standard Time"),
    ],
)
def test_canadian_zones_get_cldr_names_not_newer_tzlocal_ones(iana: str, windows: str) -> None:
    # Newer tzlocal releases map these to "British Columbia / Alberta / Manitoba Standard Time",
    # names that CLDR (and so, likely, Rokt) does not list.
    assert resolve(iana) == Zone(windows, iana)
    for name in ("British Columbia Standard Time", "Alberta Standard Time"):
        with pytest.raises(InvalidInput):
            resolve(name)


def tzdata_ids() -> set[str]:
    text = (Path(tzdata.__file__).parent / "zones").read_text()
    return set(text.split())


def test_all_zones_lists_each_windows_zone_sorted_by_offset_then_name() -> None:
    zones = all_zones()
    assert len(zones) == len(cldr_default_zones()) == len({z.windows for z in zones})
    assert EASTERN in zones
    assert zones[0] == Zone("Dateline Standard Time", "Etc/GMT+12")
    keys = [(standard_offset(z), z.windows) for z in zones]
    assert keys == sorted(keys)
    assert all_zones() is not all_zones()  # callers may not mutate the cache


def test_standard_offset_ignores_dst() -> None:
    summer = datetime(2026, 7, 1, tzinfo=UTC)
    assert standard_offset(EASTERN, summer) == timedelta(hours=-5)
    sydney = resolve("Australia/Sydney")
    assert standard_offset(sydney, datetime(2026, 1, 1, tzinfo=UTC)) == timedelta(hours=10)


def test_to_utc_follows_dst() -> None:
    assert to_utc(datetime(2026, 12, 1, 9), EASTERN) == datetime(2026, 12, 1, 14, tzinfo=UTC)
    assert to_utc(datetime(2026, 7, 1, 9), EASTERN) == datetime(2026, 7, 1, 13, tzinfo=UTC)


def test_to_utc_rejects_a_time_in_the_spring_gap() -> None:
    with pytest.raises(InvalidInput) as caught:
        to_utc(datetime(2026, 3, 8, 2, 30), EASTERN, field="start")
    assert caught.value.reason == "invalid_time"
    assert caught.value.message.startswith(
        "start 2026-03-08T02:30 does not exist in Eastern Standard Time"
    )


def test_to_utc_lenient_shifts_a_gap_time_forward() -> None:
    got = to_utc(datetime(2026, 3, 8, 2, 30), EASTERN, strict=False)
    assert got == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT


def test_to_utc_takes_the_first_occurrence_in_the_autumn_overlap() -> None:
    got = to_utc(datetime(2026, 11, 1, 1, 30), EASTERN)
    assert got == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, not EST


def test_vancouver_2027_03_14_0230_is_judged_by_the_pinned_tzdata() -> None:
    # Judged by tzdata 2026.6 (IANA 2026f): British Columbia keeps UTC-7 all year from
    # November 2026, so 02:30 on 2027-03-14 exists (09:30 UTC). Databases from before that
    # change (Debian's 2025b, for one) put it in a spring-forward gap and would refuse it.
    assert version("tzdata") == "2026.6"
    assert TZDATA_VERSION == tzdata.IANA_VERSION == "2026f"
    vancouver = resolve("America/Vancouver")
    got = to_utc(datetime(2027, 3, 14, 2, 30), vancouver, field="start")
    assert got == datetime(2027, 3, 14, 9, 30, tzinfo=UTC)
    assert to_utc(datetime(2027, 1, 1, 9), vancouver) == datetime(2027, 1, 1, 16, tzinfo=UTC)
    # Before the change the old rules still apply (PDT in summer 2026).
    assert to_utc(datetime(2026, 3, 8, 2, 30), vancouver, strict=False) == datetime(
        2026, 3, 8, 10, 30, tzinfo=UTC
    )
    with pytest.raises(InvalidInput):
        to_utc(datetime(2026, 3, 8, 2, 30), vancouver)


def test_the_pinned_tzdata_is_used_even_when_pythontzpath_names_other_files(
    tmp_path: Path,
) -> None:
    # A "system" database in which America/Vancouver is plain UTC: zoneinfo.ZoneInfo(key)
    # would read it first. The service must still see the pinned tzdata's rules.
    fake = tmp_path / "America"
    fake.mkdir()
    fake.joinpath("Vancouver").write_bytes(
        (Path(tzdata.__file__).parent / "zoneinfo/UTC").read_bytes()
    )
    script = (
        "import zoneinfo, datetime as d\n"
        "from activity.events.timezones import resolve, to_utc\n"
        "z = resolve('America/Vancouver')\n"
        "print(zoneinfo.ZoneInfo('America/Vancouver').utcoffset(d.datetime(2027, 1, 1)))\n"
        "print(to_utc(d.datetime(2027, 1, 1, 9), z).isoformat())\n"
    )
    env = {**os.environ, "PYTHONTZPATH": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["0:00:00", "2027-01-01T16:00:00+00:00"]  # the system file said UTC


def test_zone_info_comes_from_tzdata_and_refuses_what_tzdata_lacks() -> None:
    assert zone_info("America/Vancouver").key == "America/Vancouver"
    for bad in ("../../etc/passwd", "America", "Mars/Base", ""):
        with pytest.raises(zoneinfo.ZoneInfoNotFoundError):
            zone_info(bad)


def test_pinned_tzdata_is_not_older_than_the_systems() -> None:
    system = Path("/usr/share/zoneinfo/tzdata.zi")
    if not system.exists():
        pytest.skip("no system tz database to compare with")
    first = system.read_text().splitlines()[0]  # "# version 2025b"
    assert first.startswith("# version ")
    assert first.removeprefix("# version ").strip() <= TZDATA_VERSION


def test_no_other_module_reads_a_time_zone_database() -> None:
    # One database: only timezones.py turns a zone name into rules (from the pinned tzdata).
    package = ROOT / "activity"
    offenders = [
        str(path.relative_to(ROOT))
        for path in package.rglob("*.py")
        if path.name != "timezones.py"
        and any(
            needle in path.read_text(encoding="utf-8")
            for needle in ("ZoneInfo(", "available_timezones", "import tzlocal", "from tzlocal")
        )
    ]
    assert offenders == []
