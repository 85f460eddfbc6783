"""Inputs shared by the events tests: a contact's event and what `plan` refuses, a
configuration as the config UI saves it, and hypothesis strategies for inArguments of every
shape."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st

from activity.devtools.jb import DEFAULT_SUBSCRIPTION_BINDING, ENTRY_KEY, event_arguments
from activity.errors import InvalidInput
from activity.events.plan import plan

SUB = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
SUB2 = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
FIRST_NAME = f'{{{{Event.{ENTRY_KEY}."First Name"}}}}'


def args(**overrides: Any) -> dict[str, Any]:
    """A complete event for one contact holding SUB, with `overrides`."""
    return event_arguments(**{"calendarSubscriptionId": SUB, **overrides})


def error(merged: dict[str, Any], contact_key: str = "C-1") -> InvalidInput:
    """What `plan` refuses `merged` with (it must refuse it)."""
    with pytest.raises(InvalidInput) as caught:
        plan(merged, contact_key)
    return caught.value


def configured(**overrides: Any) -> dict[str, Any]:
    base = event_arguments(
        calendarSubscriptionId=DEFAULT_SUBSCRIPTION_BINDING,
        title="Hi <<First Name|there>>",
        **{"<<First Name>>": FIRST_NAME},
    )
    base.update(overrides)
    return base


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


INTERESTING = st.sampled_from(
    [
        "<<A>>",
        "<<A|x>>",
        "{{Event.x}}",
        "2026-03-08T02:30",
        "2026-11-01T01:30",
        "2026-12-01",
        "true",
        "15",
        "America/Santiago",
        "Eastern Standard Time",
        SUB,
        "",
        " ",
    ]
)


KEYS = st.sampled_from([*event_arguments().keys(), "<<A>>", "<<B>>"])


ARGUMENTS = st.builds(
    lambda extra, base: {**(event_arguments() if base else {}), **extra},
    st.dictionaries(KEYS, JSON | INTERESTING, max_size=10),
    st.booleans(),
)
