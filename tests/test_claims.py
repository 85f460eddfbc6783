"""Claims read without trusting them."""

from __future__ import annotations

import pytest

from activity.claims import MAX_CLAIM_LENGTH, claim, section


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("  ann@example.com ", "ann@example.com"),
        (100000001, "100000001"),
        (True, ""),  # a bool is an int to Python, never a MID
        (1.5, ""),
        (None, ""),
        (["100"], ""),
        ({"id": "100"}, ""),
        ("a\nb", ""),
        ("\ud800", ""),
        ("x" * MAX_CLAIM_LENGTH, "x" * MAX_CLAIM_LENGTH),
        ("x" * (MAX_CLAIM_LENGTH + 1), ""),
    ],
)
def test_a_claim_is_short_printable_text_or_missing(value: object, read: str) -> None:
    assert claim(value) == read


def test_a_section_that_is_not_an_object_reads_as_empty() -> None:
    claims = {"user": {"id": "u"}, "organization": "100", "request": None}
    assert section(claims, "user") == {"id": "u"}
    assert section(claims, "organization") == {}
    assert section(claims, "request") == {}
    assert section(claims, "missing") == {}
