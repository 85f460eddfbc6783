"""A subscription webhook's objects read into data-extension row values."""

from __future__ import annotations

import pytest

from activity.errors import WebhookMalformed
from activity.rokt.webhook_rows import row_values

SUB = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


def test_each_field_is_read_from_where_seed_004_puts_it() -> None:
    details = {"accountCode": "acme", "accountId": 7, "accountName": "Acme"}
    subscription = {
        "email": "ann@example.com",  # the older spelling: emailAddress wins when both are sent
        "Referer": "https://example.com/",
        "calendarTags": [{"tagId": 1, "tagText": "a"}, {"tagId": 2}, "junk"],
        "timeZoneTag": {"windowsName": "W. Europe Standard Time"},
        "isMarketingAllowed": True,
        "utmSource": "journey",
        "deviceName": None,  # unknown: not written at all
    }
    values = row_values(details, subscription, SUB)
    assert values["CalendarSubscriptionId"] == SUB
    assert (values["accountCode"], values["accountName"]) == ("acme", "Acme")
    assert values["Email"] == "ann@example.com"
    assert values["Referrer"] == "https://example.com/"
    assert (values["tagID"], values["TagText"]) == ("1,2", "a")
    assert values["TimeZoneTag"] == "W. Europe Standard Time"
    assert values["UtmSource"] == "journey"
    assert "deviceName" not in values
    both = row_values(details, {**subscription, "emailAddress": "new@example.com"}, SUB)
    assert both["Email"] == "new@example.com"


def test_subscriber_text_that_is_not_printable_is_cleaned_but_an_email_is_dropped() -> None:
    values = row_values({}, {"utmSource": "a\x00b", "emailAddress": "a\x00@b.co"}, SUB)
    assert "\x00" not in values["UtmSource"] and values["UtmSource"].startswith("a")
    assert "Email" not in values


def test_a_value_no_field_can_hold_names_the_field() -> None:
    with pytest.raises(WebhookMalformed, match=r"^optIn1: must be true or false$"):
        row_values({}, {"isMarketingAllowed": "maybe"}, SUB)
    with pytest.raises(WebhookMalformed, match=r"^UtmSource: must be text$"):
        row_values({}, {"utmSource": {"nested": 1}}, SUB)
    # Too long is cut, and an email address Marketing Cloud would refuse is left out.
    values = row_values({}, {"emailAddress": "x" * 10_000, "utmSource": "u" * 10_000}, SUB)
    assert "Email" not in values and 0 < len(values["UtmSource"]) < 10_000
