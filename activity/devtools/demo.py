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
import secrets
import socket
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.fernet import Fernet
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from activity.admin.settings_service import Actor
from activity.app import create_app
from activity.appkeys import SETTINGS_SERVICE, STORE, WEBHOOK_URLS
from activity.config import Settings
from activity.devtools.demo_marketing_cloud import (
    print_subscriptions,
    running_marketing_cloud,
    subscribers_flow,
)
from activity.devtools.demo_report import DemoReport, Timeline, print_report
from activity.devtools.demo_subscribe import print_welcome, welcome_journey
from activity.devtools.fake_rokt import FakeRokt, start_fake_rokt
from activity.devtools.fake_rokt.webhooks import WebhookSender
from activity.devtools.jb import event_arguments, execute_payload, lifecycle_payload, sign
from activity.journey.execution import QUEUED
from activity.ops.bodies import SERVER_OPTIONS
from activity.storage.models import DEAD, SENT

MID = "500000001"
EID = "500000000"
ACCOUNT_CODE = "DEMO-STORE"
CLIENT_ID = "demo-client"
JOURNEY_ID = "78d81790-19da-41dd-9ca2-6fd25baa5699"
ACTIVITY_ID = "2ad157c6-d111-4124-b996-4a3a48b2b168"
FIRST_NAMES = ("Jane", "Omar", "Mei", "Lucas", "Priya", "Tomás", "Aiko", "Kwame", "Sofia", "Noah")
DRAIN_TIMEOUT_SECONDS = 60.0
WELCOME_CONTACTS = 5  # the welcome journey's new contacts (action subscribe)
WEBHOOK_RETRIES = (0.2, 0.5, 1.0)  # Rokt's 30 minutes of retries, compressed for the demo
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Contact:
    key: str
    first_name: str
    subscription_ids: tuple[str, ...]


@dataclass(frozen=True)
class Call:
    """One execute as JB sends it: the signed body and which contact it is for."""

    contact: int
    body: bytes
    replay: bool = False


@dataclass
class Outcome:
    answers: dict[int, dict[str, Any]] = field(default_factory=dict)  # first answer per contact
    replay_answers: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def make_contacts(n: int, rng: random.Random) -> list[Contact]:
    """Every 10th contact has no subscription (skipped), every 4th has two."""

    def guid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    result = []
    for i in range(n):
        count = 0 if i % 10 == 9 else 2 if i % 4 == 3 else 1
        ids = tuple(guid() for _ in range(count))
        result.append(Contact(f"0031x{i:010d}", FIRST_NAMES[i % len(FIRST_NAMES)], ids))
    return result


def contact_arguments(contact: Contact, *, personalized: bool = False) -> dict[str, Any]:
    """The inArguments JB resolves for `contact` (the binding becomes the attribute's value)."""
    args = event_arguments(
        mid=MID,
        eid=EID,
        eventScope="contact" if personalized else "shared",
        calendarSubscriptionId=", ".join(contact.subscription_ids),
    )
    if personalized:
        args["title"] = "<<First Name>>, your Summer Sale starts"
        args["<<First Name>>"] = contact.first_name
    return args


def journey_calls(
    contacts: Sequence[Contact], secret: str, *, personalized: bool, retries: int, spread: int
) -> list[Call]:
    """One call per contact in order, plus `retries` replays (same activityId and
    definitionInstanceId, as JB retries), each `spread` calls after its original."""
    originals = [
        Call(
            i,
            sign(
                execute_payload(
                    contact_arguments(contact, personalized=personalized),
                    contact_key=contact.key,
                    activity_id=ACTIVITY_ID,
                    journey_id=JOURNEY_ID,
                ),
                secret,
            ),
        )
        for i, contact in enumerate(contacts)
    ]
    step = max(1, len(originals) // max(1, retries))
    replays: dict[int, list[Call]] = {}
    for i in range(0, step * retries, step):
        at = min(len(originals) - 1, i + spread)
        replays.setdefault(at, []).append(Call(i, originals[i].body, replay=True))
    calls: list[Call] = []
    for i, call in enumerate(originals):
        calls.append(call)
        calls.extend(replays.get(i, ()))
    return calls


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


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


@dataclass(frozen=True)
class _Running:
    app: web.Application
    url: str
    jwt_secret: str = field(repr=False)
    fake: FakeRokt
    webhooks: WebhookSender


@asynccontextmanager
async def running_service(workdir: Path) -> AsyncIterator[_Running]:
    """The fake Rokt and the service on free loopback ports, with a business unit configured."""
    rokt_secret = secrets.token_urlsafe(24)
    webhooks = WebhookSender(schedule=WEBHOOK_RETRIES)
    fake, rokt_url, rokt_runner = await start_fake_rokt(
        client_id=CLIENT_ID, client_secret=rokt_secret, webhooks=webhooks
    )
    sock = free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        public_url=url,
        jwt_secret=secrets.token_urlsafe(32),
        database_url=f"sqlite:///{workdir / 'activity.db'}",
        encryption_keys=(Fernet.generate_key().decode(),),
        rokt_api_url=rokt_url,
    )
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None, **SERVER_OPTIONS)
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
        await app[SETTINGS_SERVICE].save(
            mid=MID,
            account_code=ACCOUNT_CODE,
            client_id=CLIENT_ID,
            client_secret=rokt_secret,
            enterprise_id=EID,
            actor=Actor(user_id="demo"),
        )
        # The business unit's webhook URL, pasted into the fake Rokt's "dashboard".
        webhooks.register(await app[WEBHOOK_URLS].url_for(MID))
        yield _Running(app, url, settings.jwt_secret, fake, webhooks)
    finally:
        await runner.cleanup()
        await rokt_runner.cleanup()
        sock.close()


async def _flow(
    service: _Running, calls: Sequence[Call], concurrency: int, console: Console
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
