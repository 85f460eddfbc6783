"""Text that can be stored and sent: NULs and lone surrogates are refused, naming the field."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activity.errors import InvalidInput
from activity.journey.text_checks import lone_surrogate, plain_json, reject_unstorable


@pytest.mark.parametrize(
    ("text", "mark"),
    [
        ("plain", ""),
        ("Crème brûlée 🎉", ""),
        ("bad\ud800", "U+D800"),
        ("\udfffx", "U+DFFF"),
        ("ok 😀 then \ud83d", "U+D83D"),  # a pair is fine, the lone high half after it is not
        (json.loads('"\\ud83d\\ude00"'), ""),  # an escaped pair decodes to one real character
    ],
)
def test_lone_surrogate_names_the_first_one(text: str, mark: str) -> None:
    assert lone_surrogate(text) == mark


@pytest.mark.parametrize(
    ("merged", "fragment"),
    [
        ({"title": "a\x00b"}, "inArgument 'title' contains a NUL character"),
        ({"title": "a\ud800"}, "inArgument 'title' contains a lone surrogate (U+D800)"),
        ({"<<A\udc00>>": "x"}, "contains a lone surrogate (U+DC00)"),
        ({"calendarSubscriptionId": ["ok", "\ud800"]}, "'calendarSubscriptionId' contains a lone"),
    ],
)
def test_reject_unstorable_names_the_field(merged: dict[str, object], fragment: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        reject_unstorable(merged)
    assert fragment in caught.value.message and "expected plain text" in caught.value.message


# Letters, controls (NUL among them) and surrogates: st.text() alone never draws a surrogate.
TEXT = st.text(st.characters(categories=["Cs", "Cc", "Ll", "So"]), max_size=6)


@given(st.dictionaries(TEXT, TEXT | st.lists(TEXT, max_size=3), max_size=4))
def test_what_passes_can_be_encoded_and_what_is_refused_could_not(
    merged: dict[str, object],
) -> None:
    text = json.dumps(merged, ensure_ascii=False)
    try:
        reject_unstorable(merged)
    except InvalidInput:
        with pytest.raises((UnicodeEncodeError, AssertionError)):
            text.encode("utf-8")
            assert "\\u0000" not in json.dumps(merged)
        return
    text.encode("utf-8")
    assert "\x00" not in text


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        (b'{"title": "Summer sale", "n": 3}', True),
        (b'{"title": "Sale \\u0000"}', False),  # an escaped NUL
        (b'{"title": "\\ud800"}', False),  # an escaped lone surrogate
        (b'{"title": "\\u00e9"}', False),  # any escape: not worth telling apart
        ('{"title": "Crème"}'.encode(), False),  # UTF-8 may carry encoded surrogates
        (b'{"title": "\xed\xa0\x80"}', False),
        ('{"t": "\\u0000"}'.encode("utf-16-le"), False),  # ASCII bytes, but NULs between
        ('{"t": "x"}'.encode("utf-32-be"), False),
    ],
)
def test_plain_json_is_ascii_without_escapes(raw: bytes, plain: bool) -> None:
    assert plain_json(raw) is plain


@given(st.dictionaries(st.text(), st.text() | st.lists(st.text(), max_size=3), max_size=4))
def test_whatever_plain_json_lets_by_has_nothing_to_refuse(values: dict[str, object]) -> None:
    for text in (json.dumps(values), json.dumps(values, ensure_ascii=False)):
        raw = text.encode("utf-8", "surrogatepass")
        if plain_json(raw):
            reject_unstorable(json.loads(raw))  # raises if plain_json let something by
