from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from activity.devtools.jb import event_arguments, execute_payload
from activity.errors import InvalidInput
from activity.journey.inarguments import (
    SCHEMA,
    all_day,
    choice,
    event_id,
    merge,
    mid_of,
    notify_before,
    on_error_of,
    present,
    validate,
)


def _message(merged: object) -> str:
    with pytest.raises(InvalidInput) as caught:
        validate(merged)
    return caught.value.message


def test_merge_joins_jb_array_later_keys_win() -> None:
    assert merge([{"a": 1}, {"b": 2, "c": 3}, {"a": 4}]) == {"a": 4, "b": 2, "c": 3}


def test_merge_round_trips_execute_payload() -> None:
    args = event_arguments()
    assert merge(execute_payload(args)["inArguments"]) == args


def test_merge_accepts_one_object_and_empty_array() -> None:
    assert merge({"eventId": "x"}) == {"eventId": "x"}
    assert merge([]) == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "inArguments is missing; expected an array of objects"),
        ("x", "inArguments is a str; expected an array of objects"),
        ([{"a": 1}, "b"], "inArguments[1] is a str; expected an object such as"),
        ([{"a": 1}, None], "inArguments[1] is null; expected an object"),
        ([[1]], "inArguments[0] is an array; expected an object"),
    ],
)
def test_merge_rejects_other_shapes_precisely(value: object, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        merge(value)
    assert caught.value.message.startswith(message)


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_valid_configuration_passes() -> None:
    validate(event_arguments())
    validate(event_arguments(mid=None, eid=500000000, notifyBefore="30", allDay="TRUE"))


def test_missing_fields_are_named_with_what_was_expected() -> None:
    message = _message(event_arguments(eventId="", title=None))
    assert "eventId is missing; expected 1-100 letters" in message
    assert "title is missing; expected the event title as text" in message


def test_mid_or_eid_required() -> None:
    assert _message(event_arguments(mid="", eid=None)) == (
        "mid is missing; expected the business unit MID (or eid)"
    )


def test_title_start_timezone_only_required_for_create_and_update() -> None:
    bare = {"mid": "1", "eventId": "e1"}
    for action in ("remove", "cancel"):
        validate({**bare, "action": action})
    message = _message({**bare, "action": "update"})
    assert message == (
        "title is missing; expected the event title as text; "
        "start is missing; expected a local time YYYY-MM-DDTHH:MM[:SS]; "
        "timezone is missing; expected a Windows time zone name or an IANA id, e.g. Eastern "
        "Standard Time"
    )
    assert "title is missing" in _message(bare)  # create is the default


def test_unsubscribe_needs_a_calendar_code_and_no_event() -> None:
    validate({"mid": "1", "action": "unsubscribe", "calendarCode": "my-calendar"})
    assert _message({"mid": "1", "action": "unsubscribe", "eventId": "e1"}) == (
        "calendarCode is missing; expected the calendar's URL slug: 1-100 letters, digits, "
        "'-' or '_'"
    )
    assert "calendarCode is 'my calendar/x'" in _message(
        {"mid": "1", "action": "unsubscribe", "calendarCode": "my calendar/x"}
    )
    # Other actions still need their event ID.
    assert "eventId is missing" in _message({"mid": "1", "action": "cancel"})


@pytest.mark.parametrize(
    ("overrides", "sentence"),
    [
        (
            {"action": "delete"},
            "action is 'delete'; expected one of create, update, remove, cancel, unsubscribe",
        ),
        ({"eventScope": "all"}, "eventScope is 'all'; expected shared or contact"),
        ({"onError": "stop"}, "onError is 'stop'; expected continue or eject"),
        ({"title": {"a": 1}}, "title is an object; expected the event title as text"),
        ({"allDay": "yes"}, "allDay is 'yes'; expected true or false"),
        ({"allDay": 1}, "allDay is 1; expected true or false"),
        ({"notifyBefore": True}, "notifyBefore is a boolean; expected a whole number"),
        ({"notifyBefore": -5}, "notifyBefore is -5; expected a whole number of minutes from 0"),
        ({"notifyBefore": "99999"}, "notifyBefore is 99999; expected a whole number"),
        ({"notifyBefore": "1.5"}, "notifyBefore is '1.5'; expected a whole number"),
        ({"eventId": "a b/c"}, "eventId is 'a b/c'; expected 1-100 letters, digits"),
        ({"calendarSubscriptionId": 5}, "calendarSubscriptionId is 5; expected one or more"),
        ({"<<First Name>>": ["a"]}, "<<First Name>> is an array; expected a text, number"),
        ({"mid": {"x": 1}}, "mid is an object; expected the business unit MID"),
    ],
)
def test_wrong_values_become_plain_sentences(overrides: dict[str, object], sentence: str) -> None:
    message = _message(event_arguments(**overrides))
    assert sentence in message
    for raw in ("is not valid under any of the given schemas", "is not of type", "Failed"):
        assert raw not in message


def test_at_most_three_problems_then_a_count() -> None:
    message = _message(
        event_arguments(action="x", eventScope="y", onError="z", allDay="w", notifyBefore="v")
    )
    assert message.count("; expected") == 3
    assert message.endswith("(and 2 more)")


def test_not_a_mapping() -> None:
    assert _message(["x"]) == "inArguments is an array; expected an object"


def test_blank_strings_count_as_absent() -> None:
    assert present({"a": "", "b": "  ", "c": None, "d": 0, "e": False, "f": "x"}) == {
        "d": 0,
        "e": False,
        "f": "x",
    }
    validate(event_arguments(action="", eventScope="", onError=" ", description=""))


@pytest.mark.parametrize(
    ("merged", "expected"),
    [
        ({"onError": "eject"}, "eject"),
        ({"onError": " EJECT "}, "eject"),
        ({"onError": "continue"}, "continue"),
        ({"onError": "explode", "eventId": None}, "continue"),
        ({"onError": 1}, "continue"),
        ({}, "continue"),
        (None, "continue"),
        (["eject"], "continue"),
    ],
)
def test_on_error_is_lenient(merged: object, expected: str) -> None:
    assert on_error_of(merged) == expected


def test_field_parsers() -> None:
    assert choice("shared", ("shared", "contact"), "eventScope") == "shared"
    with pytest.raises(InvalidInput, match=r"^eventScope is 'x'; expected one of shared, contact"):
        choice("x", ("shared", "contact"), "eventScope")
    assert event_id("  sale.2026_A-1 ") == "sale.2026_A-1"
    with pytest.raises(InvalidInput, match="eventId is '-lead'"):
        event_id("-lead")
    with pytest.raises(InvalidInput):
        event_id("x" * 101)
    assert all_day(" False ") is False and all_day("true") is True and all_day(True) is True
    assert notify_before("15") == 15 and notify_before(0) == 0 and notify_before(30.0) == 30
    assert notify_before(40320) == 40320
    for bad in (40321, -1, "abc", 1.5, None, True, "-3"):
        with pytest.raises(InvalidInput, match="notifyBefore is"):
            notify_before(bad)


def test_nul_characters_are_rejected_with_the_field_named() -> None:
    import pytest

    from activity.errors import InvalidInput
    from activity.journey.inarguments import merge

    with pytest.raises(InvalidInput, match="'title' contains a NUL"):
        merge([{"title": "a\x00b"}])
    with pytest.raises(InvalidInput, match="NUL"):
        merge({"<<F\x00>>": "x"})


def _json_values() -> st.SearchStrategy[object]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-10, 50000),
        st.floats(allow_nan=False),
        st.text(max_size=12),
        st.sampled_from(
            [
                "create",
                "cancel",
                "shared",
                "eject",
                "TRUE",
                "15",
                "2026-12-01T09:00",
                "Eastern Standard Time",
            ]
        ),
    )
    return st.one_of(scalars, st.lists(scalars, max_size=3))


KEYS = [
    "mid",
    "eid",
    "action",
    "eventId",
    "eventScope",
    "title",
    "start",
    "end",
    "timezone",
    "allDay",
    "notifyBefore",
    "onError",
    "calendarSubscriptionId",
    "<<First Name>>",
    "x",
]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), _json_values(), max_size=10))
def test_fast_path_agrees_with_jsonschema(candidate: dict[str, object]) -> None:
    from activity.journey.inarguments import _VALIDATOR, schema_valid

    assert schema_valid(candidate) == _VALIDATOR.is_valid(candidate)


@pytest.mark.parametrize("good", [{"eventId": "e", "mid": "1", "action": "cancel"}])
def test_fast_path_accepts_what_jsonschema_accepts(good: dict[str, object]) -> None:
    from activity.journey.inarguments import schema_valid

    assert schema_valid(good)


def test_merge_names_every_key_as_text_whoever_calls_it() -> None:
    assert merge([{1: "a"}, {"b": 2}]) == {"1": "a", "b": 2}
    assert all(isinstance(k, str) for k in merge([{1: "a"}, {"b": 2}]))


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ({"mid": " 500000001 "}, "500000001"),
        ({"mid": 500000001}, "500000001"),
        ({"mid": True}, None),
        ({"mid": ""}, None),
        ({"mid": "5\x00"}, None),
        ({"mid": "\ud800"}, None),
        ({"mid": "9" * 65}, None),
        ({"mid": ["500000001"]}, None),
        ({"eid": "500000000"}, None),
        ("not a mapping", None),
    ],
)
def test_the_mid_stored_with_an_answer_is_a_plain_id_or_none(
    given: object, stored: str | None
) -> None:
    assert mid_of(given) == stored
