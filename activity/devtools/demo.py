"""`rokt-activity demo`: the whole product in one process, on loopback.

The fake Rokt and the service (SQLite in a temporary directory) run on free ports; this module
plays Journey Builder against them: save, validate, publish, then one signed execute per
contact with C in flight, a few JB retries replayed, and finally checks the fake Rokt's record:
every accepted contact's subscription IDs reached Rokt exactly once. Then a welcome journey
subscribes a few new contacts (demo_subscribe.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from activity.appkeys import STORE
from activity.devtools.demo_contacts import (
    ACCOUNT_CODE,
    ACTIVITY_ID,
    EID,
    JOURNEY_ID,
    MID,
    Call,
    Contact,
    journey_calls,
    make_contacts,
)
from activity.devtools.demo_marketing_cloud import (
    print_subscriptions,
    running_marketing_cloud,
    subscribers_flow,
)
from activity.devtools.demo_report import DemoReport, Timeline, print_report
from activity.devtools.demo_service import DemoService, running_service
from activity.devtools.demo_subscribe import print_welcome, welcome_journey
from activity.devtools.jb import lifecycle_payload, sign
from activity.journey.execution import QUEUED
from activity.storage.models import DEAD, SENT

DRAIN_TIMEOUT_SECONDS = 60.0
WELCOME_CONTACTS = 5  # the welcome journey's new contacts (action subscribe)
POLL_SECONDS = 0.1


@dataclass
class Outcome:
    answers: dict[int, dict[str, Any]] = field(default_factory=dict)  # first answer per contact
    replay_answers: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


async def _execute_all(
    http: aiohttp.ClientSession,
    url: str,
    calls: Sequence[Call],
    concurrency: int,
    outcome: Outcome,
    advance: Callable[[], None],
) -> float:
    """Send `calls` in order with `concurrency` in flight; returns when the last answered."""
    queue: asyncio.Queue[Call] = asyncio.Queue()
    for call in calls:
        queue.put_nowait(call)
    headers = {"Content-Type": "application/jwt"}

    async def worker() -> None:
        while not queue.empty():
            call = queue.get_nowait()
            started = time.perf_counter()
            async with http.post(f"{url}/execute", data=call.body, headers=headers) as response:
                body = await response.json() if response.status < 500 else {}
            outcome.latencies.append(time.perf_counter() - started)
            if response.status != 200:
                outcome.failures.append(
                    f"contact {call.contact}: execute answered {response.status}"
                )
            if call.replay:
                outcome.replay_answers.append((call.contact, body))
            else:
                outcome.answers[call.contact] = body
            advance()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.monotonic()


async def _play_lifecycle(http: aiohttp.ClientSession, url: str, secret: str) -> None:
    headers = {"Content-Type": "application/jwt"}
    ids = {"activityObjectID": ACTIVITY_ID, "interactionId": JOURNEY_ID}
    for route, published in (("save", False), ("validate", False), ("publish", True)):
        payload = lifecycle_payload(**ids, originalDefinitionId=JOURNEY_ID, isPublished=published)
        async with http.post(f"{url}/{route}", data=sign(payload, secret), headers=headers) as r:
            if r.status != 200:
                raise RuntimeError(f"/{route} answered {r.status}; JB would block the publish")


async def _settled(app: web.Application) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in await app[STORE].delivery_counts():
        counts[row.state] = counts.get(row.state, 0) + row.count
    return counts


async def _flow(
    service: DemoService, calls: Sequence[Call], concurrency: int, console: Console
) -> tuple[Outcome, Timeline]:
    """Executes with one progress bar, deliveries draining with another."""
    outcome = Outcome()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        await _play_lifecycle(http, service.url, service.jwt_secret)
        with Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            flowing = progress.add_task("contacts (executes)", total=len(calls))
            draining = progress.add_task("deliveries to Rokt", total=None)
            started = time.monotonic()
            execute = asyncio.create_task(
                _execute_all(
                    http,
                    service.url,
                    calls,
                    concurrency,
                    outcome,
                    lambda: progress.advance(flowing),
                )
            )
            while True:
                await asyncio.sleep(POLL_SECONDS)
                accepted = sum(1 for a in outcome.answers.values() if a.get("roktStatus") == QUEUED)
                counts = await _settled(service.app)
                settled = counts.get(SENT, 0) + counts.get(DEAD, 0)
                progress.update(draining, total=accepted or None, completed=settled)
                if execute.done():
                    executes_done = execute.result()
                    waited = time.monotonic() - executes_done
                    if settled >= accepted or waited > DRAIN_TIMEOUT_SECONDS:
                        break
    return outcome, Timeline(started, executes_done, time.monotonic())


async def play(
    contacts: int, concurrency: int, personalized: bool, console: Console, workdir: Path
) -> DemoReport:
    async with running_service(workdir) as service, running_marketing_cloud(MID, EID) as cloud:
        base = make_contacts(contacts, random.Random(6))  # noqa: S311 - repeatable demo data, not secrets
        console.print(
            f"Rokt subscribes {contacts:,} people; its webhooks reach the service, which keeps the "
            "Calendar Subscription data extension in Marketing Cloud current."
        )
        subscribed = await subscribers_flow(
            service, cloud, MID, ACCOUNT_CODE, [c.key for c in base]
        )
        print_subscriptions(subscribed, console)
        # The journey's contacts carry the IDs Marketing Cloud now holds for them.
        names = {c.key: c.first_name for c in base}
        people = [
            Contact(key, names.get(key, "there"), ids)
            for key, ids in subscribed.contacts_from_rows()
        ]
        retries = min(contacts, max(3, contacts // 100))
        calls = journey_calls(
            people,
            service.jwt_secret,
            personalized=personalized,
            retries=retries,
            spread=concurrency,
        )
        scope = "personalized, contact scope" if personalized else "shared scope"
        console.print(
            f"Journey Builder saved, validated and published the journey ({scope}).\n"
            f"{contacts:,} contacts enter, {concurrency} executes in flight; "
            f"{retries} JB retries replayed."
        )
        outcome, timeline = await _flow(service, calls, concurrency, console)
        counts = await _settled(service.app)
        report = DemoReport.build(
            contacts=people,
            outcome_answers=outcome.answers,
            replay_answers=outcome.replay_answers,
            latencies=outcome.latencies,
            failures=outcome.failures,
            counts=counts,
            requests=service.fake.requests,
            token_grants=service.fake.token_grants,
            timeline=timeline,
        )
        async with aiohttp.ClientSession() as http:
            keys = [f"0031x9{i:09d}" for i in range(WELCOME_CONTACTS)]
            welcome = await welcome_journey(service, http, MID, keys, cloud.url)
        print_welcome(welcome, console)
        problems = subscribed.problems + report.problems + welcome.problems
        return dataclasses.replace(report, problems=problems)


def run_demo(
    contacts: int = 2000,
    concurrency: int = 20,
    personalized: bool = False,
    console: Console | None = None,
) -> int:
    """Play the demo; 0 when every accepted contact was delivered exactly once."""
    console = console or Console()
    if contacts < 1 or concurrency < 1:
        console.print("--contacts and --concurrency must be at least 1")
        return 2
    with tempfile.TemporaryDirectory(prefix="rokt-activity-demo-") as tmp:
        report = asyncio.run(play(contacts, concurrency, personalized, console, Path(tmp)))
    print_report(report, console)
    return 0 if report.ok else 1
