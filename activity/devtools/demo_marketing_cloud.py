"""The demo's first flow: Rokt subscriptions reach Marketing Cloud before any journey runs.

A fake Marketing Cloud starts beside the fake Rokt; the business unit connects to it
(server-to-server) and installs the "Calendar Subscription" data extension; Rokt then
subscribes the demo's contacts (some unsubscribe again, some webhooks arrive twice or out of
order) and its webhooks flow through the service's inbox into the data extension. The journey
that follows reads its contacts' CalendarSubscriptionIds back from the data extension, as a
real journey's contact data would.

Checks: every subscription's row is in the data extension exactly once, in its newest state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from rich.console import Console
from rich.table import Table

from activity.appkeys import HTTP, KEYRING, SFMC_TOKENS, STORE, SYNC_WORKER
from activity.devtools.fake_sfmc import BusinessUnit, FakeSfmc, start_fake_sfmc
from activity.devtools.subscription_story import check_rows, read_rows, story
from activity.sfmc import client_credentials, installer
from activity.sfmc.data_extension import PRIMARY_KEY
from activity.storage.inbox import HELD
from activity.storage.models import QUEUED, SENDING

if TYPE_CHECKING:
    from activity.devtools.demo_service import DemoService

SFMC_CLIENT_ID = "demo-sfmc-client"
SFMC_SECRET = "demo-sfmc-secret"  # noqa: S105 - the development fake's well-known secret
SETTLE_SECONDS = 60.0


@dataclass(frozen=True)
class MarketingCloud:
    fake: FakeSfmc
    url: str


@dataclass(frozen=True)
class SubscriptionsReport:
    installed_first: bool
    installed_again: bool
    subscriptions: int
    webhooks_sent: int
    webhooks_stored: int
    duplicates: int
    reordered: int
    rows: list[dict[str, Any]]
    rows_synced: int
    sfmc_calls: int
    seconds: float
    problems: tuple[str, ...]

    def contacts_from_rows(self) -> list[tuple[str, tuple[str, ...]]]:
        """(contact key, active subscription IDs) per row: a removed subscription is none."""
        return [
            (str(row["SubscriberExternalId"]),
             () if row.get("RemovedDateTime") else (str(row[PRIMARY_KEY]),))
            for row in sorted(self.rows, key=lambda r: str(r["SubscriberExternalId"]))
        ]  # fmt: skip


@asynccontextmanager
async def running_marketing_cloud(mid: str, eid: str) -> AsyncIterator[MarketingCloud]:
    fake, url, runner = await start_fake_sfmc(
        client_id=SFMC_CLIENT_ID,
        client_secret=SFMC_SECRET,
        units=[BusinessUnit(mid, eid, "Demo business unit")],
    )
    try:
        yield MarketingCloud(fake, url)
    finally:
        await runner.cleanup()


async def subscribers_flow(
    service: DemoService,
    cloud: MarketingCloud,
    mid: str,
    account_code: str,
    contact_keys: Sequence[str],
) -> SubscriptionsReport:
    app = service.app
    await client_credentials.connect(
        app[STORE], app[KEYRING], app[HTTP], mid=mid, client_id=SFMC_CLIENT_ID,
        client_secret=SFMC_SECRET, auth_url=cloud.url,
    )  # fmt: skip
    first = await installer.install_and_record(
        app[HTTP], app[SFMC_TOKENS], app[STORE], mid, user_id="demo"
    )
    again = await installer.install_and_record(
        app[HTTP], app[SFMC_TOKENS], app[STORE], mid, user_id="demo"
    )
    traffic = story(
        account_code, len(contact_keys), unsubscribe_share=0.1, update_share=0.1,
        duplicate_share=0.05, external_ids=list(contact_keys),
    )  # fmt: skip
    calls_before = len(cloud.fake.requests)
    started = time.monotonic()
    for hook in traffic.webhooks:
        service.webhooks.send(hook)
    await service.webhooks.drain(SETTLE_SECONDS)
    await _settled(service, mid)
    seconds = time.monotonic() - started
    async with aiohttp.ClientSession() as http:
        rows = await read_rows(http, cloud.url, mid)
    problems = check_rows(traffic.expected, rows)
    if first.created is not True or again.created is not False:
        problems.append("installing the data extension twice was not idempotent")
    sfmc_calls = [r for r in cloud.fake.requests[calls_before:] if r.endpoint != "token"]
    return SubscriptionsReport(
        installed_first=first.created,
        installed_again=not again.created,
        subscriptions=traffic.subscriptions,
        webhooks_sent=len(traffic.webhooks),
        webhooks_stored=sum((await app[STORE].inbox.counts(mid)).values()),
        duplicates=traffic.duplicates,
        reordered=traffic.reordered,
        rows=rows,
        rows_synced=app[SYNC_WORKER].rows_synced,
        sfmc_calls=len(sfmc_calls),
        seconds=seconds,
        problems=tuple(problems),
    )


async def _settled(service: DemoService, mid: str) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        counts = await service.app[STORE].inbox.counts(mid)
        if not any(counts.get(s) for s in (QUEUED, SENDING, HELD)):
            return
        await asyncio.sleep(0.1)


def print_subscriptions(report: SubscriptionsReport, console: Console) -> None:
    table = Table(title="Rokt -> Marketing Cloud: subscriptions into the data extension")
    table.add_column("figure")
    table.add_column("value", justify="right")
    installed = "created" if report.installed_first else "already there"
    again = "nothing changed" if report.installed_again else "CREATED AGAIN"
    for name, value in (
        ("data extension Calendar Subscription", f"{installed}; second install: {again}"),
        ("subscriptions made on Rokt", f"{report.subscriptions:,}"),
        ("webhooks Rokt sent (repeats, out of order)",
         f"{report.webhooks_sent:,} ({report.duplicates}, {report.reordered})"),
        ("webhooks stored (each eventId once)", f"{report.webhooks_stored:,}"),
        ("rows synced / in the data extension", f"{report.rows_synced:,} / {len(report.rows):,}"),
        ("Marketing Cloud calls (upserts and status polls)", f"{report.sfmc_calls}"),
        ("webhook to data extension, all of them", f"{report.seconds:.1f} s"),
    ):  # fmt: skip
        table.add_row(name, value)
    console.print(table)
    removed = sum(1 for r in report.rows if r.get("RemovedDateTime"))
    console.print(
        f"Every row is there once in its newest state: {'yes' if not report.problems else 'NO'}"
        f" ({removed} removed subscriptions carry RemovedDateTime). The journey below reads its "
        "contacts' CalendarSubscriptionIds from these rows."
    )
