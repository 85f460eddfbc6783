"""The demo: plays Journey Builder against the real service and the fake Rokt, over HTTP."""

from __future__ import annotations

import asyncio
import io
import random
from pathlib import Path

import aiohttp
import jwt
from aiohttp import web
from rich.console import Console

from activity.appkeys import STORE
from activity.cli import main
from activity.devtools.demo import (
    ACTIVITY_ID,
    Outcome,
    _execute_all,
    journey_calls,
    make_contacts,
    run_demo,
    running_service,
)
from activity.devtools.demo_report import DemoReport, Timeline, check_deliveries, percentile
from activity.devtools.fake_rokt import RecordedRequest

SECRET = "demo-test-secret-that-is-32-bytes-long"


def quiet() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=120), out


def test_demo_delivers_every_accepted_contact_exactly_once() -> None:
    console, out = quiet()
    assert run_demo(contacts=150, concurrency=8, console=console) == 0
    text = out.getvalue()
    for figure in (
        "contacts",
        "accepted",
        "delivered",
        "skipped",
        "dead",
        "Rokt calls",
        "token grants",
        "executes per second",
        "p50 / p99",
        "time until the last delivery",
        "JB retries replayed",
        "new sends caused by retries",
    ):
        assert figure in text
    assert "OK: every accepted contact" in text
    assert "demo-secret" not in text and SECRET not in text


def test_cli_demo_runs_with_its_options() -> None:
    assert main(["demo", "--contacts", "40", "--concurrency", "4", "--personalized"]) == 0


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


async def test_personalized_contacts_get_their_own_event_and_name(tmp_path: Path) -> None:
    async with running_service(tmp_path) as service:
        people = make_contacts(12, random.Random(4))
        calls = journey_calls(people, service.jwt_secret, personalized=True, retries=0, spread=1)
        outcome = Outcome()
        async with aiohttp.ClientSession() as http:
            await _execute_all(http, service.url, calls, 4, outcome, lambda: None)
        queued = [i for i, a in outcome.answers.items() if a["roktStatus"] == "queued"]
        for i in queued:
            assert outcome.answers[i]["roktEventId"].endswith(f"_{people[i].key}")
        await _delivered(service.app, len(queued))
        titles = {
            r.json["event"]["title"]
            for r in service.fake.requests
            if r.endpoint == "create" and r.status == 202
        }
        assert {f"{people[i].first_name}, your Summer Sale starts" for i in queued} == titles


async def _delivered(app: web.Application, expected: int) -> None:
    for _ in range(200):
        counts = await app[STORE].delivery_counts()
        if sum(c.count for c in counts if c.state == "sent") >= expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{expected} deliveries did not arrive")


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


def test_the_welcome_journey_subscribes_new_contacts_and_their_webhooks_come_back() -> None:
    console, out = quiet()
    assert run_demo(contacts=20, concurrency=4, console=console) == 0
    text = " ".join(out.getvalue().split())
    assert "Welcome journey: 5 contacts subscribed to demo-calendar" in text
    assert text.count("│ subscribed │ webcal://") == 3  # the first three links are shown
    assert "JB retry answered the same: yes" in text
    assert (
        "Create Subscription calls: 5; Subscribe webhooks delivered to the service: 5; "
        "their rows in the data extension: 5." in text
    )
