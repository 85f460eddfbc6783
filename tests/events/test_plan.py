from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activity.errors import InvalidInput
from activity.events.plan import (
    SAMPLE_SUBSCRIPTION_ID,
    EventPlan,
    plan,
    preview,
)
from activity.rokt.api_requests import RoktRequest
from tests.events.inputs import ARGUMENTS, SUB, SUB2, args, configured, error


def test_create_plan_is_exactly_what_rokt_gets() -> None:
    result = plan(args(), "C-1")
    payload = {
        "eventId": "summer-sale-2026",
        "title": "Summer Sale starts",
        "description": "Three days of offers",
        "location": "https://shop.example.com/sale",
        "timezone": "Eastern Standard Time",
        "timezoneIanaId": "America/New_York",
        "start": "2026-12-01T09:00:00",
        "end": "2026-12-01T10:00:00",
        "allDayEvent": False,
        "notifyBefore": 15,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    assert result == EventPlan(
        action="create",
        mid="500000001",
        eid="500000000",
        on_error="continue",
        event_id="summer-sale-2026",
        payload=payload,
        subscription_ids=(SUB,),
        batch_key=hashlib.sha256(f"create\n{canonical}".encode()).hexdigest(),
        start_utc="2026-12-01T14:00:00Z",
        end_utc="2026-12-01T15:00:00Z",
    )


def test_defaults_contact_scope_notify_15_create_optional_texts_empty() -> None:
    merged = args(description=None, location="", notifyBefore=None, onError=None)
    del merged["eventScope"], merged["action"], merged["allDay"]
    result = plan(merged, "0031x00000AbCdEf")
    assert result.action == "create"
    assert result.event_id == result.payload["eventId"] == "summer-sale-2026_0031x00000AbCdEf"
    assert result.payload["notifyBefore"] == 15
    assert result.payload["description"] == "" and result.payload["location"] == ""
    assert result.payload["allDayEvent"] is False
    assert result.on_error == "continue"


def test_batch_key_equal_for_same_shared_event_across_contacts() -> None:
    one = plan(args(calendarSubscriptionId=SUB, mid="1"), "A")
    two = plan(args(calendarSubscriptionId=SUB2, mid="2"), "B")
    assert one.batch_key == two.batch_key
    assert one.subscription_ids != two.subscription_ids


@pytest.mark.parametrize(
    "overrides",
    [{"title": "Other"}, {"action": "update"}, {"notifyBefore": 16}, {"eventScope": "contact"}],
)
def test_batch_key_differs_when_rendered_event_differs(overrides: dict[str, Any]) -> None:
    assert plan(args(), "A").batch_key != plan(args(**overrides), "A").batch_key


def test_contact_scope_events_differ_per_contact() -> None:
    a, b = plan(args(eventScope="contact"), "A"), plan(args(eventScope="contact"), "B")
    assert (a.event_id, b.event_id) == ("summer-sale-2026_A", "summer-sale-2026_B")
    assert a.batch_key != b.batch_key


def test_placeholders_fill_every_text_and_time_field() -> None:
    merged = args(
        title="Hi <<First Name|friend>>, <<Offer>>",
        description="Code <<Code>>",
        location="<<Store>>",
        start="<<Day>>T09:00",
        end="<<Day>>T09:30",
        timezone="<<Zone|Eastern Standard Time>>",
        **{
            "<<First Name>>": "",
            "<<Offer>>": 20,
            "<<Code>>": "<<First Name>>",
            "<<Store>>": "Main St",
            "<<Day>>": "2026-07-01",
            "<<Zone>>": "Europe/London",
        },
    )
    payload = plan(merged, "C").payload
    assert (payload["title"], payload["description"], payload["location"]) == (
        "Hi friend, 20",
        "Code <<First Name>>",
        "Main St",
    )
    assert (payload["start"], payload["end"]) == ("2026-07-01T09:00:00", "2026-07-01T09:30:00")
    assert (payload["timezone"], payload["timezoneIanaId"]) == (
        "GMT Standard Time",
        "Europe/London",
    )


def test_unknown_placeholder_names_field() -> None:
    problem = error(args(location="At <<Store>>"))
    assert problem.message.startswith(
        "placeholder <<Store>> in location has no inArgument '<<Store>>'"
    )
    assert problem.reason == "unknown_placeholder"


def test_title_empty_after_filling_is_invalid() -> None:
    problem = error(args(title="<<N>>", **{"<<N>>": " "}))
    assert problem.message == "title is empty after filling placeholders; expected the event title"


@pytest.mark.parametrize(
    ("field", "limit"), [("title", 255), ("location", 1000), ("description", 8000)]
)
def test_text_caps_apply_after_filling(field: str, limit: int) -> None:
    assert plan(args(**{field: "x" * limit}), "C").payload[field] == "x" * limit
    problem = error(args(**{field: "x" * (limit - 5) + "<<V>>", "<<V>>": "123456"}))
    assert problem.message == f"{field} is {limit + 1} characters; expected at most {limit}"
    assert problem.reason == "too_long"


def test_unknown_timezone_is_not_utc() -> None:
    problem = error(args(timezone="Mars Standard Time"))
    assert problem.reason == "unknown_timezone"
    assert "timezone 'Mars Standard Time' is not a known time zone" in problem.message


@pytest.mark.parametrize("action", ["remove", "cancel"])
def test_remove_and_cancel_need_only_event_id(action: str) -> None:
    merged = {"mid": "1", "action": action, "eventId": "e1", "eventScope": "contact"}
    result = plan({**merged, "calendarSubscriptionId": f"{SUB};{SUB2}"}, "K")
    assert result.payload == {"eventId": "e1_K"}
    assert result.subscription_ids == (SUB, SUB2)
    assert (result.start_utc, result.end_utc) == (None, None)
    other = plan({**merged, "eventScope": "shared"}, "K")
    assert other.payload == {"eventId": "e1"} and other.subscription_ids == ()


def test_unsubscribe_plans_one_deactivation_per_subscription_without_an_event() -> None:
    merged = {"mid": "1", "action": "unsubscribe", "calendarCode": "my-calendar"}
    result = plan({**merged, "calendarSubscriptionId": f"{SUB};{SUB2}"}, "K")
    assert (result.action, result.event_id) == ("unsubscribe", "")
    assert result.payload == {"calendarCode": "my-calendar"}
    assert result.subscription_ids == (SUB, SUB2)
    # eventId and eventScope left over from another action change nothing.
    again = plan({**merged, "eventId": "old", "eventScope": "contact"}, "K")
    assert again.payload == result.payload and again.batch_key == result.batch_key
    assert "calendarCode is missing" in error({"mid": "1", "action": "unsubscribe"}).message


def test_preview_shows_the_unsubscribe_request_of_seed_002() -> None:
    arguments = {"mid": "1", "action": "unsubscribe", "calendarCode": "my-calendar"}
    _, requests = preview(arguments, {"accountCode": "acme"})
    assert requests == [
        RoktRequest(
            "unsubscribe",
            "DELETE",
            "/v1/subscription/acme/my-calendar",
            {
                "id": SAMPLE_SUBSCRIPTION_ID,
                "unsubscribeReasonId": None,
                "unsubscribeReasonText": "Unsubscribed by a Marketing Cloud journey",
            },
        )
    ]


def test_no_subscription_is_empty_tuple_and_bad_one_is_invalid() -> None:
    assert plan(args(calendarSubscriptionId=""), "C").subscription_ids == ()
    assert "calendarSubscriptionId has 1 malformed value: 'nope'" in (
        error(args(calendarSubscriptionId="nope")).message
    )


# problems: the config UI pre-flight


# preview: same path as execute


def test_preview_substitutes_samples_and_builds_requests() -> None:
    result, requests = preview(configured(), {"First Name": "Jane", "accountCode": "acme"})
    assert result.payload["title"] == "Hi Jane"
    assert result.subscription_ids == (SAMPLE_SUBSCRIPTION_ID,)
    assert requests == [
        RoktRequest(
            "create",
            "POST",
            "/v1/subscriptionevent/acme",
            {"event": result.payload, "subscriptionIds": [SAMPLE_SUBSCRIPTION_ID]},
        )
    ]
    assert result == plan(
        {
            **configured(),
            "<<First Name>>": "Jane",
            "calendarSubscriptionId": SAMPLE_SUBSCRIPTION_ID,
        },
        "SampleContact",
    )


def test_preview_prefers_exact_key_uses_fallback_and_default_account() -> None:
    samples = {"<<First Name>>": "Exact", "First Name": "Loose"}
    assert preview(configured(), samples)[0].payload["title"] == "Hi Exact"
    result, requests = preview(configured(), {})
    assert result.payload["title"] == "Hi there"
    assert requests[0].path == "/v1/subscriptionevent/your-account"


def test_preview_update_is_flat_and_nested_and_contact_scoped() -> None:
    result, requests = preview(
        configured(action="update", eventScope="contact", mid=None, eid=None), {}
    )
    assert result.event_id == "summer-sale-2026_SampleContact"
    assert result.mid == "preview"
    both = {**result.payload, "event": result.payload}  # seed 002's flat and seed 000's nested
    assert requests == [
        RoktRequest("update", "POST", "/v1/subscriptionevent/your-account/update", both)
    ]


def test_preview_bound_field_takes_sample_by_key() -> None:
    result, _ = preview(configured(start="{{Event.x.Start}}"), {"start": "2026-12-01T08:00"})
    assert result.payload["start"] == "2026-12-01T08:00:00"
    with pytest.raises(InvalidInput) as caught:
        preview(configured(start="{{Event.x.Start}}"), {})
    assert caught.value.message.startswith("start is '{{Event.x.Start}}'; expected a local time")


# never anything but InvalidInput


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(ARGUMENTS, st.text(max_size=20))
def test_plan_raises_only_invalid_input(merged: dict[str, Any], contact_key: str) -> None:
    try:
        result = plan(merged, contact_key)
    except InvalidInput as problem:
        assert "expected" in problem.message
        return
    assert result.payload["eventId"] == result.event_id


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(ARGUMENTS)
def test_preview_raises_only_invalid_input(arguments: dict[str, Any]) -> None:
    try:
        result, requests = preview(arguments, {"A": "x"})
    except InvalidInput as problem:
        assert "expected" in problem.message
        return
    assert requests and all(r.path.startswith(("/v1/", "/v2/")) for r in requests)
    assert result.subscription_ids
