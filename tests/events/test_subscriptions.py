from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activity.errors import InvalidInput
from activity.events.subscriptions import MAX_PER_CONTACT, parse

A = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
B = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
C = "0e5d9a64-8f7a-4c55-9c3e-4d2a1c9b7e10"


def test_one_guid_is_lowercased() -> None:
    assert parse(f"  {A.upper()} ") == (A,)


def test_braces_are_dropped() -> None:
    assert parse("{" + B.upper() + "}") == (B,)


def test_mixed_separators_deduplicate_in_order() -> None:
    assert parse(f"{B}, {A};{B.upper()}\n{C}\t;;, ") == (B, A, C)


def test_json_array_as_string_and_as_list() -> None:
    assert parse(f'["{A}", " {B} ", "{A}"]') == (A, B)
    assert parse([C, A.upper()]) == (C, A)
    assert parse((B,)) == (B,)


@pytest.mark.parametrize("empty", [None, "", "   ", "[]", [], ", ;"])
def test_empty_means_no_subscription(empty: object) -> None:
    assert parse(empty) == ()


def test_malformed_values_are_listed() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(f"{C}, not-a-guid; 1234")
    message = caught.value.message
    assert message.startswith(
        "calendarSubscriptionId has 2 malformed values: 'not-a-guid', '1234';"
    )
    assert "expected GUIDs" in message
    assert C not in message


def test_unresolved_binding_is_malformed() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse("{{Contact.Attribute.x}}")
    assert "has 1 malformed value: '{{Contact.Attribute.x}}';" in caught.value.message


def test_listing_is_truncated() -> None:
    bad = [f"bad{i}" for i in range(8)] + ["x" * 200]
    with pytest.raises(InvalidInput) as caught:
        parse(",".join(bad))
    message = caught.value.message
    assert "has 9 malformed values: 'bad0', 'bad1', 'bad2', 'bad3', 'bad4' and 4 more;" in message
    assert "x" * 50 not in message


def test_long_value_is_clipped() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse("y" * 500)
    assert "'" + "y" * 39 + "…'" in caught.value.message


def test_count_is_capped_after_deduplication() -> None:
    ids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(MAX_PER_CONTACT)]
    assert len(parse(ids + ids)) == MAX_PER_CONTACT
    with pytest.raises(InvalidInput) as caught:
        parse([*ids, "00000000-0000-4000-8000-999999999999"])
    assert caught.value.message == (
        f"calendarSubscriptionId has {MAX_PER_CONTACT + 1} subscription IDs; expected at most "
        f"{MAX_PER_CONTACT} per contact"
    )
    assert caught.value.reason == "too_many_subscriptions"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (12345, "calendarSubscriptionId has type int;"),
        ({"id": A}, "calendarSubscriptionId has type dict;"),
        ([A, 7], "malformed value: '7'"),
        ("[not json", "starts with '[' but is not a JSON array"),
    ],
)
def test_wrong_shapes_are_rejected(value: object, fragment: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(value)
    assert fragment in caught.value.message
    assert caught.value.reason == "invalid_subscription_id"


def test_json_scalar_string_is_one_item() -> None:
    assert parse(f'["{A}"]') == (A,)


@settings(max_examples=300)
@given(
    st.uuids(),
    st.sampled_from(["{}", "{{{}}}", " {} ", "{}\n", '["{}"]']),
    st.sampled_from([str.lower, str.upper]),
)
def test_one_string_reads_as_the_same_value_in_a_list(
    guid: uuid.UUID, shape: str, case: Callable[[str], str]
) -> None:
    # A plain lowercase GUID takes a shortcut; every other spelling the general path.
    value = shape.format(case(str(guid)))
    expected = (str(guid),)
    assert parse(value) == expected
    if not value.startswith("["):
        assert parse([value]) == expected
