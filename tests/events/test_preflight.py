"""The config UI's pre-flight checks on an unresolved configuration."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from activity.events.preflight import Problem, problems
from tests.events.inputs import ARGUMENTS, FIRST_NAME, JSON, SUB, configured


def fields(found: list[Problem]) -> list[str]:
    return [p.field for p in found]


def test_clean_configuration_has_no_problems() -> None:
    assert problems(configured()) == []
    assert problems(configured(start=FIRST_NAME, end="<<First Name>>", notifyBefore="{{X}}")) == []


def test_required_fields_missing() -> None:
    found = problems({"<<A>>": "x"})
    assert fields(found) == [
        "mid",
        "eventId",
        "calendarSubscriptionId",
        "title",
        "start",
        "timezone",
        "end",
    ]
    assert found[2].message.startswith("calendarSubscriptionId has no source; expected a binding")


def test_cancel_needs_no_times() -> None:
    found = problems(
        {"mid": "1", "action": "cancel", "eventId": "e", "calendarSubscriptionId": SUB}
    )
    assert found == []


def test_unknown_placeholders_reported_per_field() -> None:
    found = problems(configured(description="<<Code>> <<Code|x>>", location="<<First Name>>"))
    assert found == [
        Problem(
            "description",
            "placeholder <<Code>> in description has no inArgument '<<Code>>'; expected an "
            "inArgument '<<Code>>' bound to the field's source",
        )
    ]


def test_literal_values_are_checked_bound_ones_are_not() -> None:
    found = problems(
        configured(
            start="2026-12-01T10:00",
            end="2026-12-01T09:00",
            notifyBefore="lots",
            eventId="{{Event.x.id}}",
            calendarSubscriptionId="not-a-guid",
            action="delete",
        )
    )
    assert fields(found) == ["action", "notifyBefore", "calendarSubscriptionId", "end"]
    assert found[-1].message.startswith("end 2026-12-01T09:00 is before start")


def test_order_not_checked_when_timezone_unknown_or_dates_malformed() -> None:
    found = problems(
        configured(timezone="Nowhere", start="2026-13-01T10:00", end="2026-12-01T09:00")
    )
    assert fields(found) == ["timezone", "start"]


def test_dst_gap_reported_on_literal_start() -> None:
    found = problems(configured(start="2026-03-08T02:30", end="2026-03-08T05:00"))
    assert fields(found) == ["start"]
    assert "does not exist in Eastern Standard Time" in found[0].message
    found = problems(configured(start="2026-03-08T01:00", end="2026-03-08T02:15"))
    assert fields(found) == ["end"]


def test_problems_on_non_mapping() -> None:
    assert problems(["x"]) == [  # type: ignore[arg-type]
        Problem("inArguments", "inArguments is not an object; expected an object")
    ]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(ARGUMENTS | JSON)
def test_problems_never_raise(arguments: Any) -> None:
    found = problems(arguments)
    assert all(isinstance(p, Problem) and p.field and p.message for p in found)


def test_problems_for_unsubscribe_ask_for_the_calendar_code_only() -> None:
    base = {"mid": "1", "action": "unsubscribe", "calendarSubscriptionId": SUB}
    assert [(p.field, p.message) for p in problems(base)] == [
        (
            "calendarCode",
            "calendarCode is missing; expected the calendar's URL slug, e.g. my-calendar",
        )
    ]
    assert problems({**base, "calendarCode": "my-calendar"}) == []
    assert [p.field for p in problems({**base, "calendarCode": "bad slug"})] == ["calendarCode"]
