from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activity.devtools.jb import DEFAULT_SUBSCRIPTION_BINDING, ENTRY_KEY, event_arguments
from activity.errors import InvalidInput
from activity.events.plan import (
    SAMPLE_SUBSCRIPTION_ID,
    EventPlan,
    forget_templates,
    plan,
    preview,
)
from activity.events.preflight import Problem, problems
from activity.rokt.api_requests import RoktRequest

SUB = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
SUB2 = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
FIRST_NAME = f'{{{{Event.{ENTRY_KEY}."First Name"}}}}'


def args(**overrides: Any) -> dict[str, Any]:
    return event_arguments(**{"calendarSubscriptionId": SUB, **overrides})


def error(merged: dict[str, Any], contact_key: str = "C-1") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        plan(merged, contact_key)
    return caught.value


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


def test_iana_zone_gets_windows_name_and_utc_follows_dst() -> None:
    result = plan(
        args(timezone="America/Chicago", start="2026-07-01T09:00", end="2026-07-01T10:00"), "C"
    )
    assert (result.payload["timezone"], result.payload["timezoneIanaId"]) == (
        "Central Standard Time",
        "America/Chicago",
    )
    assert (result.start_utc, result.end_utc) == ("2026-07-01T14:00:00Z", "2026-07-01T15:00:00Z")


def test_unknown_timezone_is_not_utc() -> None:
    problem = error(args(timezone="Mars Standard Time"))
    assert problem.reason == "unknown_timezone"
    assert "timezone 'Mars Standard Time' is not a known time zone" in problem.message


def test_start_in_dst_gap_is_rejected() -> None:
    problem = error(args(start="2026-03-08T02:30", end="2026-03-08T04:00"))
    assert problem.reason == "invalid_time"
    assert problem.message.startswith("start 2026-03-08T02:30 does not exist in Eastern")


def test_ambiguous_time_means_first_occurrence() -> None:
    result = plan(args(start="2026-11-01T01:30", end="2026-11-01T01:45"), "C")
    assert result.payload["start"] == "2026-11-01T01:30:00"
    assert result.start_utc == "2026-11-01T05:30:00Z"


def test_seconds_space_separator_and_fraction_accepted() -> None:
    result = plan(args(start="2026-12-01 09:00:30", end="2026-12-01T10:00:00.000"), "C")
    assert (result.payload["start"], result.payload["end"]) == (
        "2026-12-01T09:00:30",
        "2026-12-01T10:00:00",
    )


@pytest.mark.parametrize(
    ("start", "fragment"),
    [
        ("2026-02-30T10:00", "start is '2026-02-30T10:00', not a real date or time;"),
        ("2026-12-01T25:00", "not a real date or time"),
        ("12/01/2026 9:00 AM", "start is '12/01/2026 9:00 AM'; expected a local time"),
        ("2026-12-01T09:00Z", "expected a local time YYYY-MM-DDTHH:MM[:SS]"),
        ("2026-12-01", "start is '2026-12-01', a date without a time;"),
    ],
)
def test_malformed_times(start: str, fragment: str) -> None:
    assert fragment in error(args(start=start)).message


def test_end_before_start_rejected_equal_allowed() -> None:
    problem = error(args(start="2026-12-01T10:00", end="2026-12-01T09:59"))
    assert problem.message == (
        "end 2026-12-01T09:59 is before start 2026-12-01T10:00; expected an end at or after "
        "the start"
    )
    assert plan(args(start="2026-12-01T10:00", end="2026-12-01T10:00"), "C").payload["end"] == (
        "2026-12-01T10:00:00"
    )


def test_end_required_for_timed_event() -> None:
    assert error(args(end=None)).message.startswith("end is missing; expected a local time")


@pytest.mark.parametrize(
    ("start", "end", "sent"),
    [
        ("2026-12-01", None, ("2026-12-01T00:00:00", "2026-12-02T00:00:00")),
        ("2026-12-01T15:00", "2026-12-01T16:00", ("2026-12-01T00:00:00", "2026-12-02T00:00:00")),
        ("2026-12-01", "2026-12-03", ("2026-12-01T00:00:00", "2026-12-04T00:00:00")),
        ("2026-12-01T00:00", "2026-12-02T00:00", ("2026-12-01T00:00:00", "2026-12-02T00:00:00")),
        ("2026-12-01", "2026-12-01T00:00", ("2026-12-01T00:00:00", "2026-12-02T00:00:00")),
    ],
)
def test_all_day_normalisation(start: str, end: str | None, sent: tuple[str, str]) -> None:
    result = plan(args(allDay="true", start=start, end=end), "C")
    assert (result.payload["start"], result.payload["end"]) == sent
    assert result.payload["allDayEvent"] is True


def test_all_day_midnight_in_dst_gap_is_not_rejected() -> None:
    # Chile starts DST at 00:00 (2026-09-06): that midnight does not exist.
    result = plan(args(allDay=True, start="2026-09-06", end=None, timezone="America/Santiago"), "C")
    assert result.payload["start"] == "2026-09-06T00:00:00"
    assert result.start_utc == "2026-09-06T04:00:00Z"


def test_all_day_end_before_start_rejected() -> None:
    assert (
        "is before start" in error(args(allDay=True, start="2026-12-03", end="2026-12-01")).message
    )


@pytest.mark.parametrize(("value", "sent"), [("30", 30), (0, 0), ("40320", 40320), (None, 15)])
def test_notify_before(value: object, sent: int) -> None:
    assert plan(args(notifyBefore=value), "C").payload["notifyBefore"] == sent


def test_notify_before_out_of_range() -> None:
    assert "notifyBefore is 40321; expected a whole number of minutes from 0 to 40320" in (
        error(args(notifyBefore=40321)).message
    )


@pytest.mark.parametrize("action", ["remove", "cancel"])
def test_remove_and_cancel_need_only_event_id(action: str) -> None:
    merged = {"mid": "1", "action": action, "eventId": "e1", "eventScope": "contact"}
    result = plan({**merged, "calendarSubscriptionId": f"{SUB};{SUB2}"}, "K")
    assert result.payload == {"eventId": "e1_K"}
    assert result.subscription_ids == (SUB, SUB2)
    assert (result.start_utc, result.end_utc) == (None, None)
    other = plan({**merged, "eventScope": "shared"}, "K")
    assert other.payload == {"eventId": "e1"} and other.subscription_ids == ()


def test_no_subscription_is_empty_tuple_and_bad_one_is_invalid() -> None:
    assert plan(args(calendarSubscriptionId=""), "C").subscription_ids == ()
    assert "calendarSubscriptionId has 1 malformed value: 'nope'" in (
        error(args(calendarSubscriptionId="nope")).message
    )


def test_on_error_eject_and_eid_only() -> None:
    result = plan(args(onError="eject", mid=None, eid=500000000), "C")
    assert (result.on_error, result.mid, result.eid) == ("eject", "", "500000000")


def test_validation_errors_name_the_field() -> None:
    assert error(args(eventId="bad id")).message.startswith("eventId is 'bad id'; expected")


# problems: the config UI pre-flight


def configured(**overrides: Any) -> dict[str, Any]:
    base = event_arguments(
        calendarSubscriptionId=DEFAULT_SUBSCRIPTION_BINDING,
        title="Hi <<First Name|there>>",
        **{"<<First Name>>": FIRST_NAME},
    )
    base.update(overrides)
    return base


def fields(found: list[Problem]) -> list[str]:
    return [p.field for p in found]


def test_clean_configuration_has_no_problems() -> None:
    assert problems(configured()) == []
    assert problems(configured(start=FIRST_NAME, end="<<First Name>>", notifyBefore="{{X}}")) == []


def test_required_fields_missing() -> None:
    found = problems({"<<A>>": "x"})
    assert fields(found) == [
        "mid",
        "eventId",
        "calendarSubscriptionId",
        "title",
        "start",
        "timezone",
        "end",
    ]
    assert found[2].message.startswith("calendarSubscriptionId has no source; expected a binding")


def test_cancel_needs_no_times() -> None:
    found = problems(
        {"mid": "1", "action": "cancel", "eventId": "e", "calendarSubscriptionId": SUB}
    )
    assert found == []


def test_unknown_placeholders_reported_per_field() -> None:
    found = problems(configured(description="<<Code>> <<Code|x>>", location="<<First Name>>"))
    assert found == [
        Problem(
            "description",
            "placeholder <<Code>> in description has no inArgument '<<Code>>'; expected an "
            "inArgument '<<Code>>' bound to the field's source",
        )
    ]


def test_literal_values_are_checked_bound_ones_are_not() -> None:
    found = problems(
        configured(
            start="2026-12-01T10:00",
            end="2026-12-01T09:00",
            notifyBefore="lots",
            eventId="{{Event.x.id}}",
            calendarSubscriptionId="not-a-guid",
            action="delete",
        )
    )
    assert fields(found) == ["action", "notifyBefore", "calendarSubscriptionId", "end"]
    assert found[-1].message.startswith("end 2026-12-01T09:00 is before start")


def test_order_not_checked_when_timezone_unknown_or_dates_malformed() -> None:
    found = problems(
        configured(timezone="Nowhere", start="2026-13-01T10:00", end="2026-12-01T09:00")
    )
    assert fields(found) == ["timezone", "start"]


def test_dst_gap_reported_on_literal_start() -> None:
    found = problems(configured(start="2026-03-08T02:30", end="2026-03-08T05:00"))
    assert fields(found) == ["start"]
    assert "does not exist in Eastern Standard Time" in found[0].message
    found = problems(configured(start="2026-03-08T01:00", end="2026-03-08T02:15"))
    assert fields(found) == ["end"]


def test_problems_on_non_mapping() -> None:
    assert problems(["x"]) == [  # type: ignore[arg-type]
        Problem("inArguments", "inArguments is not an object; expected an object")
    ]


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


def test_preview_update_is_flat_and_contact_scoped() -> None:
    result, requests = preview(
        configured(action="update", eventScope="contact", mid=None, eid=None), {}
    )
    assert result.event_id == "summer-sale-2026_SampleContact"
    assert result.mid == "preview"
    assert requests == [
        RoktRequest("update", "POST", "/v1/subscriptionevent/your-account/update", result.payload)
    ]


def test_preview_bound_field_takes_sample_by_key() -> None:
    result, _ = preview(configured(start="{{Event.x.Start}}"), {"start": "2026-12-01T08:00"})
    assert result.payload["start"] == "2026-12-01T08:00:00"
    with pytest.raises(InvalidInput) as caught:
        preview(configured(start="{{Event.x.Start}}"), {})
    assert caught.value.message.startswith("start is '{{Event.x.Start}}'; expected a local time")


# never anything but InvalidInput

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


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(ARGUMENTS, st.text(max_size=20))
def test_plan_raises_only_invalid_input(merged: dict[str, Any], contact_key: str) -> None:
    try:
        result = plan(merged, contact_key)
    except InvalidInput as problem:
        assert "expected" in problem.message
        return
    assert result.payload["eventId"] == result.event_id


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(ARGUMENTS | JSON)
def test_problems_never_raise(arguments: Any) -> None:
    found = problems(arguments)
    assert all(isinstance(p, Problem) and p.field and p.message for p in found)


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


def outcome(merged: dict[str, Any], contact_key: str) -> EventPlan | str:
    """The plan, or the error's message and reason, for comparing two ways to get there."""
    try:
        return plan(merged, contact_key)
    except InvalidInput as problem:
        return f"{problem.reason}: {problem.message}"


SUBSCRIPTION_VALUES = (
    st.none()
    | st.sampled_from([SUB, f"{SUB}, {SUB2}", "", "  ", "not-a-guid", f'["{SUB}"]', "[1"])
    | st.lists(st.sampled_from([SUB, SUB2, "x", 3]), max_size=3)
    | st.integers()
    | st.booleans()
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(ARGUMENTS, SUBSCRIPTION_VALUES, SUBSCRIPTION_VALUES, st.sampled_from(["C-1", "C 2", "C-3"]))
def test_remembered_template_plans_exactly_as_a_fresh_one(
    merged: dict[str, Any], first: Any, second: Any, contact_key: str
) -> None:
    forget_templates()
    outcome({**merged, "calendarSubscriptionId": first}, "C-1")  # may remember a template
    remembered = outcome({**merged, "calendarSubscriptionId": second}, contact_key)
    forget_templates()
    assert remembered == outcome({**merged, "calendarSubscriptionId": second}, contact_key)


@pytest.mark.parametrize(
    ("valid", "other"),
    [({"allDay": True}, {"allDay": 1}), ({"notifyBefore": 15}, {"notifyBefore": 15.0})],
)
def test_equal_values_of_another_type_are_not_taken_for_remembered_ones(
    valid: dict[str, Any], other: dict[str, Any]
) -> None:
    forget_templates()
    plan(args(**valid), "C-1")
    remembered = outcome(args(**other), "C-1")
    forget_templates()
    assert remembered == outcome(args(**other), "C-1")


def test_shared_plans_share_one_rendered_event_and_contact_plans_do_not() -> None:
    forget_templates()
    one, two = (
        plan(args(eventScope="shared", calendarSubscriptionId=s), "C-1") for s in (SUB, SUB2)
    )
    assert one.payload is two.payload and one.payload_json == two.payload_json
    assert (one.subscription_ids, two.subscription_ids) == ((SUB,), (SUB2,))
    mine, yours = (plan(args(eventScope="contact"), key) for key in ("C-1", "C-2"))
    base = args()["eventId"]
    assert (mine.payload["eventId"], yours.payload["eventId"]) == (f"{base}_C-1", f"{base}_C-2")
    assert json.loads(mine.payload_json) == mine.payload and mine.batch_key != yours.batch_key


async def test_rendered_event_cache_is_bounded_by_bytes_not_entries(
    aiohttp_client: Any, tmp_path: Any
) -> None:
    """1,100 contacts each carrying a distinct 150 KB extra inArgument, over HTTP: what the
    cache holds stays under its byte bound (an entry-count bound kept ~150 MB of them)."""
    from activity import create_app
    from activity.devtools.jb import execute_payload, sign, store_demo_settings, test_settings
    from activity.events import plan as plan_module

    forget_templates()
    client = await aiohttp_client(create_app(test_settings(tmp_path, run_delivery=False)))
    await store_demo_settings(client.app, "500000001")
    filler = "x" * (150 * 1024 - 8)
    for i in range(1100):
        extra = {"<<Notes>>": f"{i:08d}{filler}"}
        payload = execute_payload(args(**extra), contact_key=f"C-{i}")
        resp = await client.post("/execute", data=sign(payload))
        assert resp.status == 200
        assert (await resp.json())["roktStatus"] == "queued"
    held, bound = plan_module.template_cache_bytes()
    # Measured independently of the cache's own estimate: the text its keys keep alive.
    kept = sum(
        len(value)
        for key in list(plan_module._TEMPLATES.keys())
        for _, _, value in key
        if isinstance(value, str)
    )
    assert kept <= bound
    assert held <= bound
    assert kept > bound // 2  # it still remembers what fits
    forget_templates()
