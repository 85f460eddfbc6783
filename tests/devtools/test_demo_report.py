"""The demo's report: deliveries checked against Rokt's record, and its figures."""

from __future__ import annotations

import random

from activity.devtools.demo_contacts import make_contacts
from activity.devtools.demo_report import DemoReport, Timeline, check_deliveries, percentile
from activity.devtools.fake_rokt import RecordedRequest


def _create(subs: list[str], status: int = 202) -> RecordedRequest:
    return RecordedRequest(
        "create", "POST", "/v1/subscriptionevent/X", {"subscriptionIds": subs}, 1.0, status
    )


def test_check_deliveries_finds_missing_duplicate_and_unexpected() -> None:
    assert check_deliveries(["a", "b"], {"a": 1, "b": 1}) == []
    problems = check_deliveries(["a", "b", "c"], {"a": 2, "c": 1, "z": 1})
    assert any("never delivered: b" in p for p in problems)
    assert any("more than once: a" in p for p in problems)
    assert any("never accepted: z" in p for p in problems)


def test_report_fails_when_rokt_got_a_contact_twice() -> None:
    people = make_contacts(3, random.Random(5))
    answers = {i: {"roktStatus": "queued", "roktEventId": "e", "roktError": ""} for i in range(2)}
    subs = [s for i in range(2) for s in people[i].subscription_ids]
    report = DemoReport.build(
        contacts=people[:2],
        outcome_answers=answers,
        replay_answers=[(0, answers[0])],
        latencies=[0.01, 0.02, 0.03],
        failures=[],
        counts={"sent": 2},
        requests=[_create(subs), _create(subs[:1]), _create(subs[:1], status=500)],
        token_grants=1,
        timeline=Timeline(0.0, 1.0, 2.0),
    )
    assert not report.ok
    assert report.replay_sends == 1
    assert any("more than once" in p for p in report.problems)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 99) == 0.0
