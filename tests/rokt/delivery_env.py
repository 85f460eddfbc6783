"""What the delivery tests share: a real SQLite outbox and settings, the fake Rokt over HTTP,
a clock the test moves, and a worker built on them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from activity.admin.settings_service import SettingsService
from activity.devtools.fake_rokt import FakeRokt
from activity.devtools.jb import rokt_event
from activity.ops.metrics import Metrics
from activity.rokt.client import RoktClient
from activity.rokt.delivery import DeliveryWorker
from activity.rokt.token_cache import TokenCache
from activity.storage.models import Answer, NewItem
from activity.storage.sqlite import SQLiteStore

MID = "500000001"


OTHER_MID = "500000002"


START = 1_900_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@dataclass
class Env:
    fake: FakeRokt
    url: str
    store: SQLiteStore
    service: SettingsService
    http: aiohttp.ClientSession
    metrics: Metrics
    clock: Clock

    def worker(self, **kw: Any) -> DeliveryWorker:
        tokens = TokenCache(self.http, self.url, metrics=self.metrics)
        client = RoktClient(self.http, self.url, tokens, self.metrics)
        kw.setdefault("clock", self.clock)
        kw.setdefault("rand", lambda: 0.0)
        return DeliveryWorker(self.store, self.service, client, metrics=self.metrics, **kw)

    async def enqueue(
        self,
        n: int = 1,
        *,
        action: str = "create",
        payload: dict[str, Any] | None = None,
        mid: str = MID,
        account_code: str = "acme",
        subs: Callable[[int], tuple[str, ...]] | None = None,
    ) -> list[str]:
        """Accept `n` contacts, one execute each, concurrently; returns their subscription IDs."""
        payload = payload or rokt_event()
        ids = [subs(i) if subs else (str(uuid.uuid4()),) for i in range(n)]

        async def one(i: int) -> None:
            item = NewItem(
                mid=mid,
                account_code=account_code,
                action=action,
                batch_key=f"{action}:{payload['eventId']}:{payload['title']}",
                payload=payload,
                subscription_ids=ids[i],
                event_id=payload["eventId"],
                journey_id="journey-1",
                activity_id="activity-1",
                definition_instance_id=str(uuid.uuid4()),
                contact_key=f"contact-{i}",
            )
            answer = Answer(200, {"roktStatus": "queued"})
            await self.store.accept(
                "activity-1", item.definition_instance_id, answer, [item], self.clock()
            )

        await asyncio.gather(*(one(i) for i in range(n)))
        return [s for group in ids for s in group]

    async def states(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in await self.store.delivery_counts():
            counts[row.state] = counts.get(row.state, 0) + row.count
        return counts

    def outcome(self, name: str) -> float:
        sample = self.metrics.registry.get_sample_value(
            "activity_deliveries_total", {"outcome": name}
        )
        return sample or 0.0


async def eventually(condition: Callable[[], Any], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
