"""The demo's welcome journey: new contacts pass a `subscribe` activity, each gets their own
calendar link for the next email, and the fake Rokt's Subscribe webhooks bring them back
through the service into the "Calendar Subscription" data extension.

Checks: every contact answered `subscribed` with an ID and a URL; a JB retry got the same
answer without a second Rokt call; one Rokt call and one delivered webhook per contact; and,
with a Marketing Cloud, one row per contact with its subscription ID and contact key.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from rich.console import Console
from rich.table import Table

from activity.appkeys import STORE
from activity.devtools.jb import execute_payload, sign
from activity.devtools.subscription_story import read_rows
from activity.sfmc.data_extension import PRIMARY_KEY
from activity.storage.inbox import HELD
from activity.storage.models import QUEUED, SENDING

if TYPE_CHECKING:
    from activity.devtools.demo_service import DemoService

CALENDAR_CODE = "demo-calendar"
WELCOME_ACTIVITY_ID = "7f3e9c2a-1b4d-4e8f-9a6c-5d2b1e0f3a47"
SHOWN = 3
WEBHOOK_WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class WelcomeReport:
    answers: tuple[Mapping[str, Any], ...]
    retry_same: bool
    rokt_calls: int
    webhooks_delivered: int
    rows: int | None = None  # data-extension rows of these contacts; None without a cloud

    @property
    def problems(self) -> tuple[str, ...]:
        found = []
        if any(a.get("roktStatus") != "subscribed" or not a.get("roktSubscriptionUrl")
               for a in self.answers):  # fmt: skip
            found.append("a welcome-journey contact got no subscription link")
        if not self.retry_same:
            found.append("a JB retry of a subscribe got a different answer")
        if self.rokt_calls != len(self.answers):
            found.append(f"{self.rokt_calls} Create Subscription calls for {len(self.answers)}")
        if self.webhooks_delivered != len(self.answers):
            found.append(
                f"{self.webhooks_delivered} Subscribe webhooks delivered for {len(self.answers)}"
            )
        if self.rows is not None and self.rows != len(self.answers):
            found.append(f"{self.rows} data-extension rows for {len(self.answers)} subscribers")
        return tuple(found)


async def welcome_journey(
    service: DemoService,
    http: aiohttp.ClientSession,
    mid: str,
    contact_keys: Sequence[str],
    sfmc_url: str | None = None,
) -> WelcomeReport:
    """One subscribe execute per contact, the first one retried, then the webhooks drained
    and, given the fake Marketing Cloud's URL, the rows of these contacts read back."""
    calls_before = len(service.fake.calls("subscribe"))
    hooks_before = set(service.webhooks.outcomes)
    bodies = []
    for key in contact_keys:
        arguments = {
            "mid": mid,
            "action": "subscribe",
            "calendarCode": CALENDAR_CODE,
            "emailAddress": f"{key.lower()}@example.com",
            "utmSource": "welcome-journey",
        }
        payload = execute_payload(
            arguments,
            contact_key=key,
            activity_id=WELCOME_ACTIVITY_ID,
            definition_instance_id=str(uuid.uuid4()),
        )
        bodies.append(sign(payload, service.jwt_secret))
    answers = [await _execute(http, service.url, body) for body in bodies]
    retry = await _execute(http, service.url, bodies[0]) if bodies else {}
    await service.webhooks.drain(WEBHOOK_WAIT_SECONDS)
    delivered = [
        o
        for webhook_id, o in service.webhooks.outcomes.items()
        if webhook_id not in hooks_before and o.event_type == "Subscribe" and o.delivered
    ]
    rows = None
    if sfmc_url is not None:
        await _synced(service, mid)
        pairs = zip(answers, contact_keys, strict=True)
        made = {(str(a.get("roktSubscriptionId")), key) for a, key in pairs}
        rows = sum(
            1
            for row in await read_rows(http, sfmc_url, mid)
            if (str(row.get(PRIMARY_KEY)), str(row.get("SubscriberExternalId"))) in made
        )
    return WelcomeReport(
        answers=tuple(answers),
        retry_same=not bodies or retry == answers[0],
        rokt_calls=len(service.fake.calls("subscribe")) - calls_before,
        webhooks_delivered=len(delivered),
        rows=rows,
    )


async def _synced(service: DemoService, mid: str) -> None:
    deadline = time.monotonic() + WEBHOOK_WAIT_SECONDS
    while time.monotonic() < deadline:
        counts = await service.app[STORE].inbox.counts(mid)
        if not any(counts.get(state) for state in (QUEUED, SENDING, HELD)):
            return
        await asyncio.sleep(0.05)


async def _execute(http: aiohttp.ClientSession, url: str, body: bytes) -> dict[str, Any]:
    async with http.post(f"{url}/execute", data=body) as resp:
        answer: dict[str, Any] = await resp.json()
        return answer


def print_welcome(report: WelcomeReport, console: Console) -> None:
    table = Table(
        title=f"Welcome journey: {len(report.answers)} contacts subscribed to {CALENDAR_CODE}",
        show_header=True,
    )
    table.add_column("roktStatus")
    table.add_column("roktSubscriptionUrl (for the next email)")
    for answer in report.answers[:SHOWN]:
        table.add_row(str(answer.get("roktStatus")), str(answer.get("roktSubscriptionUrl")))
    console.print(table)
    rows = "" if report.rows is None else f"; their rows in the data extension: {report.rows}"
    console.print(
        f"JB retry answered the same: {'yes' if report.retry_same else 'no'}; "
        f"Create Subscription calls: {report.rokt_calls}; Subscribe webhooks delivered to the "
        f"service: {report.webhooks_delivered}{rows}."
    )
