from __future__ import annotations

import uuid
from pathlib import Path

from activity.storage import retention
from activity.storage.models import QUEUED, Answer, NewItem
from activity.storage.retention import Pruner
from activity.storage.sqlite import SQLiteStore

DAY = 86400.0


def item(n: int) -> NewItem:
    return NewItem(
        mid="1", account_code="acme", action="create", batch_key="b",
        payload={"eventId": "e"}, subscription_ids=(str(uuid.uuid4()),), event_id="e",
        definition_instance_id=f"d{n}",
    )  # fmt: skip


async def test_pruner_deletes_old_finished_work_across_chunks(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "r.db")
    await store.open()
    try:
        answer = Answer(200, {"roktStatus": QUEUED})
        count = retention.CHUNK + 50  # more than one chunk
        for n in range(count):
            await store.accept("a", f"d{n}", answer, [item(n)], 1000.0)
        ids = [i.id for i in await store.claim("w", 1000.0, 30.0, count)]
        await store.mark_sent(ids, 1000.0)
        await store.accept("a", "fresh", answer, [item(-1)], 10 * DAY)
        now = 10 * DAY + 1000.0
        pruner = Pruner(store, 7 * DAY, clock=lambda: now)
        assert await pruner.run_once() == 2 * count  # every old answer and sent item
        assert await pruner.run_once() == 0
        counts = {c.state: c.count for c in await store.delivery_counts()}
        assert counts == {QUEUED: 1}
        assert await store.accept("a", "fresh", Answer(400, {}), [], now) == (answer, False)
    finally:
        await store.close()
