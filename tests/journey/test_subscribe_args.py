"""The action `subscribe`'s inArguments -> SubscribeArgs -> Rokt's request body."""

from __future__ import annotations

from typing import Any

import pytest

from activity.errors import InvalidInput
from activity.journey.subscribe_args import parse


def args(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"mid": "500000001", "action": "subscribe", "calendarCode": "cal-1"}
    values.update(overrides)
    return values


def test_defaults_webcal_and_the_contact_key() -> None:
    parsed = parse(args(), "CK-1")
    assert parsed.body() == {"subscriberId": "CK-1", "subscriptionMethod": "WebCal"}
    assert (parsed.mid, parsed.calendar_code, parsed.on_error) == ("500000001", "cal-1", "continue")


def test_everything_given_with_placeholders() -> None:
    parsed = parse(
        args(
            subscriberId=" ada-77 ",
            emailAddress="ada@example.com",
            subscriptionMethod="Microsoft",
            redirectTo="https://brand.example.com/added?who=<<First Name>>",
            utmSource="email",
            utmMedium="",
            utmCampaign="<<Campaign|spring>>",
            utmContent="<<First Name>> button",
            onError="eject",
            eventId="left-over-event",
            **{"<<First Name>>": "Ada", "<<Campaign>>": " "},
        ),
        "CK-1",
    )
    assert parsed.body() == {
        "subscriberId": "ada-77",
        "subscriptionMethod": "Microsoft",
        "emailAddress": "ada@example.com",
        "redirectTo": "https://brand.example.com/added?who=Ada",
        "utmSource": "email",
        "utmCampaign": "spring",
        "utmContent": "Ada button",
    }
    assert parsed.on_error == "eject"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"calendarCode": None}, "calendarCode is missing; expected the calendar's URL slug"),
        ({"calendarCode": "a b"}, "calendarCode is 'a b'; expected the calendar's URL slug"),
        ({"mid": ""}, "mid is missing"),
        ({"subscriptionMethod": "Google"}, "redirectTo is missing; expected the https URL"),
        (
            {"subscriptionMethod": "Google", "redirectTo": "<<Page>>", "<<Page>>": ""},
            "redirectTo is empty; a Google subscription needs",
        ),
        ({"redirectTo": "javascript:alert(1)"}, "redirectTo is 'javascript:alert(1)'"),
        ({"redirectTo": "https://x.example/<<Nope>>"}, "placeholder <<Nope>> in redirectTo"),
        ({"emailAddress": "ada@"}, "emailAddress is 'ada@'; expected an email address"),
        ({"emailAddress": 5}, "emailAddress is 5; expected the contact's email address"),
        ({"emailAddress": "a" * 250 + "@x.io"}, "emailAddress is 'aaaa"),
        ({"utmMedium": "<<X>>", "<<X>>": "y" * 256}, "utmMedium is 256 characters"),
        ({"subscriberId": "z" * 256}, "subscriberId is"),
    ],
)
def test_clear_reasons(overrides: dict[str, Any], message: str) -> None:
    merged = args(**overrides)
    merged = {k: v for k, v in merged.items() if v is not None}
    with pytest.raises(InvalidInput) as caught:
        parse(merged, "CK-1")
    assert caught.value.message.startswith(message), caught.value.message


def test_event_actions_still_need_an_event_id() -> None:
    from activity.journey import inarguments

    with pytest.raises(InvalidInput, match="eventId is missing"):
        inarguments.validate({"mid": "1", "action": "cancel"})
    inarguments.validate({"mid": "1", "action": "subscribe", "calendarCode": "c"})
