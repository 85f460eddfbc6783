"""Faults over real HTTP against the fake Rokt, beyond test_end_to_end.py (outage, 5xx window,
429 Retry-After, a 400 inside a batch) and test_crash_recovery.py (SIGKILL and restart).

Each ends with every accepted contact either delivered exactly once or dead with its reason.
The one allowed repeat is a call Rokt received but answered after our client timeout: we
cannot know it arrived, so it is sent again (Rokt's create is idempotent per subscription).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from activity import create_app
from activity.admin.settings_service import Actor
from activity.appkeys import SETTINGS_SERVICE, STORE
from activity.devtools.fake_rokt import FakeRokt, running_fake_rokt
from activity.devtools.jb import event_arguments, execute_payload, sign
from activity.devtools.jb import test_settings as make_settings
from activity.rokt.outcomes import DEAD_PREFIXES
from activity.storage.models import DEAD, SENT
from tests.conftest import ClientFactory
from tests.log_scan import Watch, assert_clean, captured, record_lines
from tests.scrape import AUTH, TOKEN, Samples, samples, value

MID = "500000001"
GONE_MID = "500000003"  # its settings are deleted while its contacts wait
CLIENT_SECRET = "fault-test-rokt-client-secret-9d2f"
TIMEOUT = 0.5


@dataclass
class Run:
    client: TestClient
    fake: FakeRokt
    watch: Watch
    accepted: dict[str, str] = field(default_factory=dict)  # contact key -> subscription ID

    async def send(self, mid: str = MID, event: str = "summer-sale", sub: str = "") -> str:
        contact = f"K{len(self.accepted)}"
        sub = sub or str(uuid.uuid4())
        args = event_arguments(mid=mid, eid="", eventId=event, calendarSubscriptionId=sub)
        resp = await self.client.post(
            "/execute", data=sign(execute_payload(args, contact_key=contact))
        )
        assert (await resp.json())["roktStatus"] == "queued"
        self.accepted[contact] = sub
        return sub

    async def sends(self, n: int, **kw: Any) -> list[str]:
        return [await self.send(**kw) for _ in range(n)]

    async def wait_settled(self, within: float = 45.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            counts = await self.client.app[STORE].delivery_counts()
            if sum(c.count for c in counts if c.state in (SENT, DEAD)) == len(self.accepted):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"not settled in {within}s: {counts}")

    async def metrics(self) -> Samples:
        resp = await self.client.get("/metrics", headers=AUTH)
        return samples(await resp.text())

    async def assert_exactly_once_or_dead(
        self, *, may_repeat: AbstractSet[str] = frozenset()
    ) -> dict[str, str]:
        """Returns the dead items' reasons by subscription ID."""
        counts = await self.client.app[STORE].delivery_counts()
        assert {c.state for c in counts} <= {SENT, DEAD}, counts
        assert sum(c.count for c in counts) == len(self.accepted), "nothing lost"
        dead = {
            self.accepted[d.contact_key]: d.reason
            for d in await self.client.app[STORE].recent_dead(limit=10_000)
        }
        assert all(r.partition(":")[0] in DEAD_PREFIXES for r in dead.values()), dead
        sent = Counter(self.fake.subscription_ids_sent())
        for sub in set(self.accepted.values()) - set(dead):
            assert sent[sub] == 1 or (sub in may_repeat and sent[sub] >= 1), (sub, sent[sub])
        assert not set(dead) & set(sent), "a dead item never reached Rokt"
        return dead


@pytest.fixture
def watch() -> Watch:
    return Watch({CLIENT_SECRET, TOKEN})


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture, watch: Watch) -> Any:
    caplog.set_level(logging.DEBUG)
    yield
    assert_clean(record_lines(captured(caplog)), watch.all_secrets())


@pytest.fixture
async def run(aiohttp_client: ClientFactory, tmp_path: Path, watch: Watch) -> AsyncIterator[Run]:
    async with running_fake_rokt(client_secret=CLIENT_SECRET) as (fake, url):
        watch.fakes.append(fake)
        settings = make_settings(
            tmp_path,
            rokt_api_url=url,
            rokt_timeout_seconds=TIMEOUT,
            metrics_token=TOKEN,
            # The fake applies a create at once: a create it never listed after a late answer
            # (it refused the batch) need not wait Rokt's minutes before going again.
            rokt_visibility_wait_seconds=1.0,
            rokt_recheck_seconds=0.5,
        )
        watch.add(*settings.encryption_keys)
        client = await aiohttp_client(create_app(settings))
        for mid in (MID, GONE_MID):
            await client.app[SETTINGS_SERVICE].save(
                mid=mid,
                account_code=f"acct-{mid}",
                client_id="demo-client",
                client_secret=CLIENT_SECRET,
                actor=Actor("test"),
            )
        yield Run(client, fake, watch)


async def wait_for(predicate: Any, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def repeats_of_one_late_call(fake: FakeRokt) -> set[str]:
    """Subscriptions Rokt accepted more than once; they must all come from one call (the
    one answered after our timeout, then retried)."""
    repeated = {s for s, n in Counter(fake.subscription_ids_sent()).items() if n > 1}
    if repeated:
        calls = [set(r.json["subscriptionIds"]) for r in fake.calls("create", 202)]
        assert any(repeated <= subs for subs in calls), repeated
    return repeated


async def test_token_endpoint_down_then_back(run: Run) -> None:
    run.fake.token_endpoint_down = True
    await run.sends(10)
    await wait_for(lambda: len(run.fake.calls("token", 503)) >= 2)
    assert run.fake.calls("create") == [], "no API call without a token"
    counts = await run.client.app[STORE].delivery_counts()
    assert {c.state for c in counts} <= {"queued", "sending"}
    deadline = time.monotonic() + 10
    while value(found := await run.metrics(), "activity_deliveries_total", outcome="retry") < 10:
        assert time.monotonic() < deadline, "every contact was tried once"
        await asyncio.sleep(0.05)
    assert value(found, "activity_rokt_requests_total", endpoint="token", status="503") >= 2
    assert value(found, "activity_outbox_depth") == 10

    run.fake.token_endpoint_down = False
    await run.wait_settled()
    assert await run.assert_exactly_once_or_dead() == {}
    assert run.fake.token_grants == 1
    assert value(await run.metrics(), "activity_outbox_depth") == 0


async def test_slow_api_answers_past_the_client_timeout_are_retried(run: Run) -> None:
    run.fake.script("create", [None], delay=TIMEOUT * 3)  # answers 202, but too late
    await run.sends(8)
    await run.wait_settled()
    # The late 202 and the retry both reached Rokt: only the slow call's contacts repeat.
    await run.assert_exactly_once_or_dead(may_repeat=repeats_of_one_late_call(run.fake))
    holders = run.fake.holders[(f"acct-{MID}", "summer-sale")]
    assert holders == set(run.accepted.values()), "each subscriber holds the event once"
    found = await run.metrics()
    assert value(found, "activity_rokt_requests_total", endpoint="create", status="timeout") == 1


async def test_a_slow_token_endpoint_is_retried(run: Run) -> None:
    run.fake.script("token", [None], delay=TIMEOUT * 3)
    await run.sends(5)
    await run.wait_settled()
    assert await run.assert_exactly_once_or_dead() == {}
    assert (
        value(await run.metrics(), "activity_rokt_requests_total", endpoint="token", status="error")
        == 1
    )
    assert len(run.fake.calls("token")) == 2


async def test_every_fault_in_one_run_loses_nothing_and_logs_no_secret(
    run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    fake = run.fake
    bad = str(uuid.uuid4())
    fake.reject_subscriptions(bad, reason="subscription deactivated")
    fake.token_endpoint_down = True
    # Four events, so four calls meet the scripted faults side by side instead of in series.
    for event in ("e1", "e2", "e3", "e4"):
        await run.sends(5, event=event)
    await run.send(event="e1", sub=bad)
    gone = set(await run.sends(3, mid=GONE_MID))
    await wait_for(lambda: len(fake.calls("token", 503)) >= 1)
    await run.client.app[SETTINGS_SERVICE].delete(GONE_MID, Actor("test"))
    fake.script("create", [503])
    fake.script("create", [429], retry_after=1)
    fake.script("create", [None], delay=TIMEOUT * 3)
    fake.token_endpoint_down = False
    await wait_for(lambda: len(fake.calls("create", 202)) >= 1)
    run.watch.remember_tokens()
    fake.expire_tokens()  # the next calls get 401 and refresh the token once
    await run.sends(5, event="e5")
    await run.wait_settled()

    dead = await run.assert_exactly_once_or_dead(may_repeat=repeats_of_one_late_call(fake))
    assert set(dead) == {bad} | gone
    assert dead[bad].startswith("rejected: ") and "subscription deactivated" in dead[bad]
    assert all(dead[s].startswith("not_configured: ") for s in gone)
    statuses = Counter(r.status for r in fake.calls())
    assert {503, 429, 401, 400, 202} <= set(statuses), statuses

    found = await run.metrics()
    assert value(found, "activity_rokt_requests_total", endpoint="create", status="timeout") == 1
    assert value(found, "activity_deliveries_total", outcome="dead") == 4
    assert value(found, "activity_outbox_depth") == 0

    lines = record_lines(captured(caplog))
    retried = [r for r in captured(caplog) if r.getMessage().startswith("Rokt delivery will be")]
    assert {getattr(r, "reason", "") for r in retried} == {"rokt_retryable"}
    gave_up = [r for r in captured(caplog) if r.getMessage().startswith("Rokt delivery gave up")]
    assert {getattr(r, "reason", "") for r in gave_up} == {"rejected", "not_configured"}
    for record in retried + gave_up:
        assert getattr(record, "journey_id", "") and getattr(record, "activity_id", "")
    assert_clean(lines, run.watch.all_secrets())
