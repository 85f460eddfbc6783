"""The demo's contacts and the calls JB makes for them."""

from __future__ import annotations

import random

import jwt

from activity.devtools.demo_contacts import ACTIVITY_ID, journey_calls, make_contacts

SECRET = "demo-test-secret-that-is-32-bytes-long"


def test_contacts_have_none_one_or_two_subscriptions() -> None:
    people = make_contacts(40, random.Random(1))
    counts = {len(p.subscription_ids) for p in people}
    assert counts == {0, 1, 2}
    assert len({p.key for p in people}) == 40


def test_replays_repeat_the_activity_and_definition_instance() -> None:
    people = make_contacts(30, random.Random(2))
    calls = journey_calls(people, SECRET, personalized=False, retries=3, spread=4)
    assert len(calls) == 33
    originals = {c.contact: c for c in calls if not c.replay}
    for replay in (c for c in calls if c.replay):
        first = jwt.decode(originals[replay.contact].body, SECRET, algorithms=["HS256"])
        again = jwt.decode(replay.body, SECRET, algorithms=["HS256"])
        assert (again["activityId"], again["definitionInstanceId"]) == (
            first["activityId"],
            first["definitionInstanceId"],
        )
        assert calls.index(replay) > calls.index(originals[replay.contact])


def test_execute_payload_is_shaped_like_jb() -> None:
    people = make_contacts(1, random.Random(3))
    (call,) = journey_calls(people, SECRET, personalized=True, retries=0, spread=1)
    body = jwt.decode(call.body, SECRET, algorithms=["HS256"])
    assert jwt.get_unverified_header(call.body)["alg"] == "HS256"
    assert all(len(item) == 1 for item in body["inArguments"])
    merged = {k: v for item in body["inArguments"] for k, v in item.items()}
    assert merged["eventScope"] == "contact"
    assert "<<First Name>>" in merged["title"]
    assert merged["<<First Name>>"] == people[0].first_name
    assert body["activityId"] == ACTIVITY_ID
    assert body["keyValue"] == people[0].key
    assert {"definitionInstanceId", "journeyId", "activityInstanceId", "mode"} <= body.keys()
