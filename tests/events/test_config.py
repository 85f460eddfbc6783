"""A contact's inArguments parsed into typed values: scope, contact key, notifyBefore, onError."""

from __future__ import annotations

from typing import Any

import pytest

from activity.devtools.jb import event_arguments
from activity.errors import InvalidInput
from activity.events.plan import plan

SUB = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
SUB2 = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


def args(**overrides: Any) -> dict[str, Any]:
    return event_arguments(**{"calendarSubscriptionId": SUB, **overrides})


def error(merged: dict[str, Any], contact_key: str = "C-1") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        plan(merged, contact_key)
    return caught.value


@pytest.mark.parametrize("key", ["", "has space", "a/b", "a\\b", "tab\there"])
def test_contact_key_unusable_in_event_id(key: str) -> None:
    problem = error(args(eventScope="contact"), key)
    assert problem.message.startswith("eventScope is contact but the contact key")
    assert plan(args(eventScope="shared"), key).event_id == "summer-sale-2026"


def test_contact_scoped_event_id_length_is_capped() -> None:
    assert plan(args(eventScope="contact"), "k" * 238).event_id.endswith("k" * 238)
    problem = error(args(eventScope="contact"), "k" * 239)
    assert problem.message.startswith("eventId with the contact key is 256 characters;")


def test_email_contact_keys_are_fine() -> None:
    assert plan(args(eventScope="contact"), "jane+x@ex.com").event_id == (
        "summer-sale-2026_jane+x@ex.com"
    )


@pytest.mark.parametrize(("value", "sent"), [("30", 30), (0, 0), ("40320", 40320), (None, 15)])
def test_notify_before(value: object, sent: int) -> None:
    assert plan(args(notifyBefore=value), "C").payload["notifyBefore"] == sent


def test_notify_before_out_of_range() -> None:
    assert "notifyBefore is 40321; expected a whole number of minutes from 0 to 40320" in (
        error(args(notifyBefore=40321)).message
    )


def test_on_error_eject_and_eid_only() -> None:
    result = plan(args(onError="eject", mid=None, eid=500000000), "C")
    assert (result.on_error, result.mid, result.eid) == ("eject", "", "500000000")


def test_validation_errors_name_the_field() -> None:
    assert error(args(eventId="bad id")).message.startswith("eventId is 'bad id'; expected")
