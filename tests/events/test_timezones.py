from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tzlocal.windows_tz import win_tz

from activity.errors import InvalidInput
from activity.events.timezones import Zone, all_zones, resolve, standard_offset, to_utc

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


def test_every_windows_zone_round_trips_both_ways() -> None:
    for windows, iana in win_tz.items():
        assert resolve(windows) == Zone(windows, iana)
        assert resolve(iana).windows == windows


def test_all_zones_lists_each_windows_zone_sorted_by_offset_then_name() -> None:
    zones = all_zones()
    assert len(zones) == len(win_tz) == len({z.windows for z in zones})
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
