from __future__ import annotations

import pytest

from activity.errors import InvalidInput
from activity.events.placeholders import as_text, fill, has_placeholders, names


def test_names_in_order_of_first_use_each_once() -> None:
    text = "<<First Name>>, <<City|your city>> and <<First Name|you>>"
    assert names(text) == ["First Name", "City"]


def test_names_ignores_things_that_are_not_placeholders() -> None:
    assert names("a << b >> c <<>> <<|x>> < <One> >") == [" b "]
    assert names(None) == []  # type: ignore[arg-type]
    assert has_placeholders("Hi <<X>>") and not has_placeholders("Hi {{X}}")


def test_fill_uses_the_inargument_with_the_exact_key() -> None:
    values = {"<<First Name>>": "Jane", "First Name": "wrong"}
    assert fill("Hi <<First Name>>!", values) == "Hi Jane!"


@pytest.mark.parametrize("empty", ["", None, "   "])
def test_fallback_used_when_value_is_empty(empty: str | None) -> None:
    assert fill("Hi <<First Name|friend>>", {"<<First Name>>": empty}) == "Hi friend"


def test_fallback_not_used_when_value_present_and_empty_without_fallback() -> None:
    assert fill("Hi <<N|friend>>", {"<<N>>": "Jo"}) == "Hi Jo"
    assert fill("Hi <<N>>.", {"<<N>>": None}) == "Hi ."
    assert fill("Hi <<N|>>.", {"<<N>>": ""}) == "Hi ."


def test_missing_inargument_names_placeholder_and_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        fill("Hello <<Nick|x>>", {"<<Other>>": "y"}, "title")
    assert caught.value.message.startswith(
        "placeholder <<Nick>> in title has no inArgument '<<Nick>>'"
    )
    assert caught.value.reason == "unknown_placeholder"


def test_values_are_inserted_literally_not_expanded_again() -> None:
    values = {"<<A>>": "<<B>> and <<B|z>>", "<<B>>": "SECRET"}
    assert fill("<<A>> / <<B>>", values) == "<<B>> and <<B|z>> / SECRET"


def test_value_with_regex_replacement_syntax_is_literal() -> None:
    assert fill("x <<A>> y", {"<<A>>": r"\1 \g<0> $1"}) == r"x \1 \g<0> $1 y"


@pytest.mark.parametrize(
    ("value", "text"),
    [(15, "15"), (15.0, "15"), (19.5, "19.5"), (True, "true"), (False, "false"), (0, "0")],
)
def test_non_string_values_read_naturally(value: object, text: str) -> None:
    assert as_text(value) == text
    assert fill("[<<V|fb>>]", {"<<V>>": value}) == f"[{text}]"


def test_zero_and_false_are_values_not_empty() -> None:
    assert fill("<<V|fallback>>", {"<<V>>": 0}) == "0"
    assert fill("<<V|fallback>>", {"<<V>>": False}) == "false"
