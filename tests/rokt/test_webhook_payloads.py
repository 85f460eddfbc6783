"""Rokt webhooks parsed into row changes: loose where Rokt's samples are, strict otherwise."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from activity.devtools.fake_rokt import webhooks as rokt
from activity.rokt.webhook_payloads import (
    DETAILS_UPDATED,
    EVENT_REMOVED,
    SUBSCRIBE,
    UNSUBSCRIBE,
    parse_webhook,
)
from activity.sfmc.data_extension import FIELDS_BY_NAME
from activity.storage.inbox import lww_merge, values_of

SUB = str(uuid.uuid4())
T1 = datetime(2026, 3, 15, 3, 48, 24, 822495, tzinfo=UTC).timestamp()
T2 = T1 + 3600


def parse(payload: dict[str, Any], received_at: float = T2 + 10) -> Any:
    return parse_webhook(json.dumps(payload).encode(), received_at)


def test_subscribe_maps_every_attribute_to_the_data_extension() -> None:
    hook = parse(rokt.subscribe("acme", SUB, created_at=T1, external_id="c-1", email="a@b.co"))
    assert (hook.event_type, hook.subscription_id, hook.account_code) == (SUBSCRIBE, SUB, "acme")
    values = {k: v for k, (v, _) in hook.changes.items()}
    assert set(values) <= set(FIELDS_BY_NAME)
    assert values["SubscriberExternalId"] == "c-1"
    assert values["Email"] == "a@b.co"
    assert values["Referrer"] == "https://example.com/"  # sent as "Referer"
    assert values["TimeZoneTag"] == "Eastern Standard Time"
    tag = ("6513319e-d3e1-4497-89ee-b5dcee9a58bc", "Team G")
    assert (values["tagID"], values["TagText"]) == tag
    assert (values["optIn1"], values["optIn2"]) == (True, False)
    assert values["RemovedDateTime"] is None
    # The subscription's own fields are stamped with its creation time (microseconds kept).
    assert hook.changes["Email"][1] == T1
    assert hook.changes["CalendarSubscriptionId"] == (SUB, 0.0)


def test_unsubscribe_sets_removed_date_time_at_its_own_time() -> None:
    hook = parse(rokt.unsubscribe("acme", SUB, removed_at=T2))
    assert hook.event_type == UNSUBSCRIBE
    assert hook.changes["RemovedDateTime"] == ("2026-03-15T04:48:24.822", T2)
    assert hook.changes["countryCode"] == ("NZ", 0.0)  # only fills a row that has nothing


def test_out_of_order_pairs_end_in_the_newest_state() -> None:
    subscribe = parse(rokt.subscribe("acme", SUB, created_at=T1, email="a@b.co")).changes
    unsubscribe = parse(rokt.unsubscribe("acme", SUB, removed_at=T2)).changes
    resubscribe = parse(rokt.subscribe("acme", SUB, created_at=T2 + 60)).changes
    for order in ([subscribe, unsubscribe], [unsubscribe, subscribe]):
        state: dict[str, list[Any]] = {}
        for changes in order:
            lww_merge(state, changes)
        assert values_of(state)["RemovedDateTime"] == "2026-03-15T04:48:24.822"
        assert values_of(state)["countryCode"] == "US"
        lww_merge(state, resubscribe)
        assert values_of(state)["RemovedDateTime"] is None


def test_loose_where_rokt_is_inconsistent() -> None:
    payload = rokt.details_updated("acme", SUB.upper())
    payload["eventType"] = "SubscriptionDetailsUpdate"  # Rokt's sample spelling
    payload["eventDetails"]["subscription"]["createdDateTimeUtc"] = "2026-03-15T03:48:24Z"
    hook = parse(payload, received_at=T2)
    assert (hook.event_type, hook.subscription_id) == (DETAILS_UPDATED, SUB)
    assert hook.changes["calendarCode"][1] == T2  # no timestamp of its own: when received


def test_bad_email_is_left_out_and_long_text_is_cut() -> None:
    hook = parse(
        rokt.subscribe("acme", SUB, created_at=T1, email="not an email", utmSource="u" * 5000)
    )
    assert "Email" not in hook.changes
    assert hook.changes["UtmSource"][0] == "u" * 500


def test_event_webhooks_name_the_event_and_subscriber() -> None:
    hook = parse(rokt.event_removed("acme", SUB, "launch-1"))
    assert (hook.event_type, hook.calendar_event_id, hook.subscription_id) == (
        EVENT_REMOVED, "launch-1", SUB,
    )  # fmt: skip
    assert hook.about_event and not hook.changes_row


def test_unknown_types_are_kept_as_sent_and_change_nothing() -> None:
    payload = rokt.subscribe("acme", SUB)
    payload["eventType"] = "SomethingNew"
    hook = parse(payload)
    assert (hook.event_type, hook.changes_row, hook.about_event) == ("SomethingNew", False, False)
