"""A journey's name from a lifecycle call: taken only when it is text, cleaned, bounded."""

from __future__ import annotations

import pytest

from activity.devtools.jb import lifecycle_payload
from activity.journey.journey_names import MAX_NAME_LENGTH, clean_name, journey_name_from
from activity.storage.delivery_views import FROM_LIFECYCLE


def test_a_named_call_gives_the_journeys_name_key_and_version() -> None:
    named = journey_name_from(lifecycle_payload(name="Welcome series"), 5.0)
    assert named is not None
    assert named.journey_id == lifecycle_payload()["interactionId"]
    assert (named.name, named.version, named.source, named.updated_at) == (
        "Welcome series", "1", FROM_LIFECYCLE, 5.0,
    )  # fmt: skip
    assert named.journey_key == lifecycle_payload()["interactionKey"]


@pytest.mark.parametrize("key", ["journeyName", "interactionName", "name"])
def test_each_name_field_is_read(key: str) -> None:
    named = journey_name_from(lifecycle_payload(**{key: "Spring"}), 0)
    assert named is not None and named.name == "Spring"


@pytest.mark.parametrize(
    "payload",
    [
        lifecycle_payload(),  # JB's documented bodies carry ids only
        lifecycle_payload(name=""),
        lifecycle_payload(name="   \n\t "),
        lifecycle_payload(name=42),
        lifecycle_payload(name={"nested": "x"}),
        lifecycle_payload(name=["a"]),
        lifecycle_payload(name="\x00\x01\u202e"),
        lifecycle_payload(name="Spring", interactionId=""),
        lifecycle_payload(name="Spring", interactionId=None),
        lifecycle_payload(name="Spring", interactionId=7),
        lifecycle_payload(name="Spring", interactionId="j" * 201),
    ],
)
def test_no_usable_name_or_id_gives_nothing(payload: dict[str, object]) -> None:
    assert journey_name_from(payload, 0) is None


def test_names_are_cleaned_and_bounded() -> None:
    assert clean_name("  Spring\x00 \u202e sale \ud800 \n x ") == "Spring sale x"
    assert clean_name("Été ✓ “sale” 🎉") == "Été ✓ “sale” 🎉"
    assert len(clean_name("n" * 10_000)) == MAX_NAME_LENGTH
    named = journey_name_from(lifecycle_payload(name="x", interactionVersion=3), 0)
    assert named is not None and named.version == "3"
