"""A contact's inArguments parsed into typed values: scope, contact key, notifyBefore, onError."""

from __future__ import annotations

import hashlib

import pytest

from activity.errors import InvalidInput
from activity.events import config
from activity.events.plan import plan
from tests.events.inputs import SUB, SUB2, args, error


@pytest.mark.parametrize("key", ["", "has space", "a/b", "a\\b", "tab\there"])
def test_contact_key_unusable_in_event_id(key: str) -> None:
    problem = error(args(eventScope="contact"), key)
    assert problem.message.startswith("eventScope is contact but the contact key")
    assert plan(args(eventScope="shared"), key).event_id == "summer-sale-2026"


def test_contact_scoped_event_id_is_kept_whole_up_to_255_then_hashed_never_cut() -> None:
    base = args()["eventId"]  # 16 characters
    assert plan(args(eventScope="contact"), "k" * 238).event_id == f"{base}_{'k' * 238}"
    long_key = "k" * 239
    hashed = plan(args(eventScope="contact"), long_key).event_id
    whole = f"{base}_{long_key}"
    digest = hashlib.sha256(whole.encode()).hexdigest()[:32]
    assert hashed == f"{whole[:222]}~{digest}" and len(hashed) == 255


def test_contact_keys_differing_after_any_length_get_different_event_ids() -> None:
    """Item 4 of the hostile review: keys that differ only after character 128 (or 255)
    shared one Rokt eventId, so the second contact's event overwrote the first's."""
    for length in (128, 200, 300, 5000):
        alice, bob = "A" * length + "-alice", "A" * length + "-bob"
        one = plan(args(eventScope="contact", title="Hello Alice"), alice)
        two = plan(args(eventScope="contact", title="Hello Bob"), bob)
        assert one.event_id != two.event_id, length
        assert len(one.event_id) <= 255 and len(two.event_id) <= 255


def test_a_key_shaped_like_a_hashed_id_is_hashed_too() -> None:
    """A verbatim id never equals another key's hashed id: a 255-character id that ends the
    way hashed ones do is hashed as well."""
    base = args()["eventId"]
    long_key = "k" * 300
    hashed = plan(args(eventScope="contact"), long_key).event_id
    lookalike = hashed[len(base) + 1 :]  # a contact key whose verbatim id would equal it
    assert f"{base}_{lookalike}" == hashed
    assert plan(args(eventScope="contact"), lookalike).event_id != hashed


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


def test_parse_gives_typed_values_read_once() -> None:
    merged = args(
        allDay=" TRUE ",
        notifyBefore=" 30 ",
        onError="eject",
        eventScope="shared",
        title="Hi <<First Name|there>>",
        description=None,
        mid=500000001,
        **{"<<First Name>>": "Jane"},
    )
    parsed = config.parse(merged)
    assert (parsed.all_day, parsed.notify_before, parsed.on_error) == (True, 30, "eject")
    assert (parsed.scope, parsed.action, parsed.mid, parsed.event_id) == (
        "shared",
        "create",
        "500000001",
        "summer-sale-2026",
    )
    assert (parsed.title, parsed.description) == ("Hi <<First Name|there>>", "")
    assert parsed.values == {"<<First Name>>": "Jane"}
    with pytest.raises(AttributeError):
        parsed.title = "changed"  # type: ignore[misc]


def test_bind_adds_the_contacts_own_part() -> None:
    parsed = config.parse(args(eventScope="contact"))
    bound = config.bind(parsed, "C-9", f"{SUB}; {SUB2}")
    assert bound.config is parsed
    assert (bound.contact_key, bound.event_id) == ("C-9", "summer-sale-2026_C-9")
    assert bound.subscription_ids == (SUB, SUB2)
    assert config.read(args(eventScope="contact", calendarSubscriptionId=SUB2), "C-9") == (
        config.ContactConfig(config.parse(args(eventScope="contact")), "C-9",
                             "summer-sale-2026_C-9", (SUB2,))
    )  # fmt: skip


def test_parse_errors_name_the_field_bind_errors_come_after_them() -> None:
    with pytest.raises(InvalidInput, match=r"^notifyBefore is 'lots'"):
        config.read(args(notifyBefore="lots", calendarSubscriptionId="nope"), "a b")
    with pytest.raises(InvalidInput, match=r"^eventScope is contact but the contact key"):
        config.read(args(eventScope="contact", calendarSubscriptionId="nope"), "a b")
    with pytest.raises(InvalidInput, match=r"^calendarSubscriptionId has 1 malformed value"):
        config.read(args(calendarSubscriptionId="nope"), "C-1")
