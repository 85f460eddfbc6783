"""Start and end through `plan`: wall times, time zones, DST, all-day spans."""

from __future__ import annotations

import pytest

from activity.events.plan import plan
from tests.events.inputs import args, error


def test_iana_zone_gets_windows_name_and_utc_follows_dst() -> None:
    result = plan(
        args(timezone="America/Chicago", start="2026-07-01T09:00", end="2026-07-01T10:00"), "C"
    )
    assert (result.payload["timezone"], result.payload["timezoneIanaId"]) == (
        "Central Standard Time",
        "America/Chicago",
    )
    assert (result.start_utc, result.end_utc) == ("2026-07-01T14:00:00Z", "2026-07-01T15:00:00Z")


def test_start_in_dst_gap_is_rejected() -> None:
    problem = error(args(start="2026-03-08T02:30", end="2026-03-08T04:00"))
    assert problem.reason == "invalid_time"
    assert problem.message.startswith("start 2026-03-08T02:30 does not exist in Eastern")


def test_ambiguous_time_means_first_occurrence() -> None:
    result = plan(args(start="2026-11-01T01:30", end="2026-11-01T01:45"), "C")
    assert result.payload["start"] == "2026-11-01T01:30:00"
    assert result.start_utc == "2026-11-01T05:30:00Z"


def test_seconds_space_separator_and_fraction_accepted() -> None:
    result = plan(args(start="2026-12-01 09:00:30", end="2026-12-01T10:00:00.000"), "C")
    assert (result.payload["start"], result.payload["end"]) == (
        "2026-12-01T09:00:30",
        "2026-12-01T10:00:00",
    )


@pytest.mark.parametrize(
    ("start", "fragment"),
    [
        ("2026-02-30T10:00", "start is '2026-02-30T10:00', not a real date or time;"),
        ("2026-12-01T25:00", "not a real date or time"),
        ("12/01/2026 9:00 AM", "start is '12/01/2026 9:00 AM'; expected a local time"),
        ("2026-12-01T09:00Z", "expected a local time YYYY-MM-DDTHH:MM[:SS]"),
        ("2026-12-01", "start is '2026-12-01', a date without a time;"),
    ],
)
def test_malformed_times(start: str, fragment: str) -> None:
    assert fragment in error(args(start=start)).message


def test_end_before_start_rejected_equal_allowed() -> None:
    problem = error(args(start="2026-12-01T10:00", end="2026-12-01T09:59"))
    assert problem.message == (
        "end 2026-12-01T09:59 is before start 2026-12-01T10:00; expected an end at or after "
        "the start"
    )
    assert plan(args(start="2026-12-01T10:00", end="2026-12-01T10:00"), "C").payload["end"] == (
        "2026-12-01T10:00:00"
    )


def test_end_required_for_timed_event() -> None:
    assert error(args(end=None)).message.startswith("end is missing; expected a local time")


@pytest.mark.parametrize(
    ("start", "end", "sent"),
    [
        ("2026-12-01", None, ("2026-12-01T00:00:00", "2026-12-02T00:00:00")),
        ("2026-12-01T15:00", "2026-12-01T16:00", ("2026-12-01T00:00:00", "2026-12-02T00:00:00")),
        ("2026-12-01", "2026-12-03", ("2026-12-01T00:00:00", "2026-12-04T00:00:00")),
        ("2026-12-01T00:00", "2026-12-02T00:00", ("2026-12-01T00:00:00", "2026-12-02T00:00:00")),
        ("2026-12-01", "2026-12-01T00:00", ("2026-12-01T00:00:00", "2026-12-02T00:00:00")),
    ],
)
def test_all_day_normalisation(start: str, end: str | None, sent: tuple[str, str]) -> None:
    result = plan(args(allDay="true", start=start, end=end), "C")
    assert (result.payload["start"], result.payload["end"]) == sent
    assert result.payload["allDayEvent"] is True


def test_all_day_midnight_in_dst_gap_is_not_rejected() -> None:
    # Chile starts DST at 00:00 (2026-09-06): that midnight does not exist.
    result = plan(args(allDay=True, start="2026-09-06", end=None, timezone="America/Santiago"), "C")
    assert result.payload["start"] == "2026-09-06T00:00:00"
    assert result.start_utc == "2026-09-06T04:00:00Z"


def test_all_day_end_before_start_rejected() -> None:
    assert (
        "is before start" in error(args(allDay=True, start="2026-12-03", end="2026-12-01")).message
    )
