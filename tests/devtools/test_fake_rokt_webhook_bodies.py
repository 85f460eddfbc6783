"""The fake Rokt's webhook bodies carry seed 004's objects, as Rokt writes them."""

from __future__ import annotations

from activity.devtools.fake_rokt import webhook_bodies as bodies

SUB = "7ae10174-37fb-4448-8f61-2f86f167009e"


def test_timestamps_are_written_as_rokt_writes_them() -> None:
    assert bodies.rokt_time(1489549704.822495) == "2017-03-15 03:48:24.822495"


def test_envelopes_and_objects_have_seed_004s_fields() -> None:
    made = bodies.subscribe("acme", SUB, external_id="k1", email="a@b.co", created_at=0.0)
    assert set(made) == {"eventId", "eventType", "eventDetails"}
    details = made["eventDetails"]
    assert {
        "actionType",
        "calendarSubscriptionId",
        "accountId",
        "accountName",
        "accountCode",
    } <= set(details)
    subscription = details["subscription"]
    for always in (
        "calendarSubscriptionId",
        "calendarId",
        "calendarTitle",
        "calendarCode",
        "userAgent",
        "deviceName",
        "createdDateTimeUtc",
        "confirmationDateTimeUtc",
    ):
        assert always in subscription, always
    assert subscription["createdDateTimeUtc"] == "1970-01-01 00:00:00.000000"
    removed = bodies.unsubscribe("acme", SUB, removed_at=0.0)["eventDetails"]["subscription"]
    assert removed["removedDateTimeUtc"] == "1970-01-01 00:00:00.000000"
    event = bodies.event_removed("acme", SUB, "ev-1")["eventDetails"]
    assert event["subscriptionEvent"] == {"eventId": "ev-1"}
    assert bodies.test_event()["eventType"] == "Test"
    assert made["eventId"] != bodies.subscribe("acme", SUB)["eventId"]  # unique per event
