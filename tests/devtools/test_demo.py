"""The demo: plays Journey Builder against the real service and the fake Rokt, over HTTP."""

from __future__ import annotations

import asyncio
import io
import random
from pathlib import Path

import aiohttp
from aiohttp import web
from rich.console import Console

from activity.appkeys import STORE
from activity.cli import main
from activity.devtools.demo import Outcome, _execute_all, run_demo
from activity.devtools.demo_contacts import journey_calls, make_contacts
from activity.devtools.demo_service import running_service

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
