"""GET /metrics: Prometheus text, behind ACTIVITY_METRICS_TOKEN, with live outbox gauges."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from activity import create_app
from activity.appkeys import STORE, WORKER
from activity.config import settings_from_env
from activity.devtools.fake_rokt import FakeRokt, running_fake_rokt
from activity.devtools.jb import (
    event_arguments,
    execute_payload,
    lifecycle_payload,
    sign,
    store_demo_settings,
)
from activity.devtools.jb import test_settings as make_settings
from activity.storage.models import SENT
from tests.conftest import ClientFactory
from tests.scrape import AUTH, TOKEN, Samples, samples, value

MID = "500000001"


@pytest.fixture
async def rokt() -> AsyncIterator[tuple[FakeRokt, str]]:
    async with running_fake_rokt() as running:
        yield running


async def service(
    aiohttp_client: ClientFactory, tmp_path: Path, rokt_url: str, **overrides: object
) -> TestClient:
    settings = make_settings(tmp_path, rokt_api_url=rokt_url, metrics_token=TOKEN, **overrides)
    client = await aiohttp_client(create_app(settings))
    await store_demo_settings(client.app)
    return client


async def scrape(client: TestClient) -> Samples:
    resp = await client.get("/metrics", headers=AUTH)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    assert resp.headers["Cache-Control"] == "no-store"
    return samples(await resp.text())


async def test_metrics_are_off_without_a_token(client: TestClient) -> None:
    resp = await client.get("/metrics", headers=AUTH)
    assert resp.status == 404
    body = await resp.json()
    assert body["reason"] == "metrics_off" and "ACTIVITY_METRICS_TOKEN" in body["error"]


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer ", "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN],
)
async def test_a_scrape_without_the_right_bearer_token_is_refused(
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    authorization: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await aiohttp_client(create_app(make_settings(tmp_path, metrics_token=TOKEN)))
    headers = {"Authorization": authorization} if authorization else {}
    resp = await client.get("/metrics", headers=headers)
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    text = await resp.text()
    assert "activity_" not in text and TOKEN not in text
    assert all(TOKEN not in r.getMessage() + repr(r.__dict__) for r in caplog.records)


async def test_the_token_comes_from_the_environment_and_is_never_shown() -> None:
    env = {"ACTIVITY_PUBLIC_URL": "https://a.example.com", "ACTIVITY_JWT_SECRET": "s"}
    assert settings_from_env(env).metrics_token == ""
    settings = settings_from_env({**env, "ACTIVITY_METRICS_TOKEN": f" {TOKEN}\n"})
    assert settings.metrics_token == TOKEN
    assert TOKEN not in repr(settings)


async def test_scrape_counts_executes_deliveries_rokt_calls_and_token_grants(
    aiohttp_client: ClientFactory, tmp_path: Path, rokt: tuple[FakeRokt, str]
) -> None:
    fake, url = rokt
    client = await service(aiohttp_client, tmp_path, url)
    fake.script("create", [503])
    for _ in range(3):
        await client.post("/execute", data=sign(execute_payload(event_arguments())))
    await client.post("/execute", data=sign(execute_payload(event_arguments(start="soon"))))
    await client.post("/execute", data=sign(execute_payload(event_arguments()), "wrong-secret"))
    await client.post("/execute", data=sign(execute_payload(event_arguments(mid="42", eid=""))))
    await client.post("/publish", data=sign(lifecycle_payload()))
    await client.post("/publish", data=b"nope")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        counts = await client.app[STORE].delivery_counts()
        if sum(c.count for c in counts if c.state == SENT) == 3:
            break
        await asyncio.sleep(0.05)
    found = await scrape(client)
    assert value(found, "activity_executes_total", status="queued") == 3
    assert value(found, "activity_executes_total", status="invalid") == 1
    assert value(found, "activity_executes_total", status="unauthorized") == 1
    assert value(found, "activity_executes_total", status="skipped_not_configured") == 1
    assert value(found, "activity_execute_seconds_count") == 5
    assert value(found, "activity_deliveries_total", outcome="sent") == 3
    assert value(found, "activity_deliveries_total", outcome="retry") >= 1
    assert value(found, "activity_rokt_requests_total", endpoint="create", status="503") == 1
    assert value(found, "activity_rokt_requests_total", endpoint="create", status="202") >= 1
    assert value(found, "activity_rokt_requests_total", endpoint="token", status="200") == 1
    assert value(found, "activity_rokt_request_seconds_count", endpoint="create") >= 2
    assert value(found, "activity_rokt_token_grants_total") == 1
    assert value(found, "activity_lifecycle_calls_total", route="publish", result="ok") == 1
    assert (
        value(found, "activity_lifecycle_calls_total", route="publish", result="unauthorized") == 1
    )
    assert value(found, "activity_outbox_depth") == 0


async def test_outbox_gauges_are_read_from_the_store_at_scrape_time(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await service(aiohttp_client, tmp_path, "http://127.0.0.1:9", run_delivery=False)
    before = await scrape(client)
    assert value(before, "activity_outbox_depth") == 0
    assert value(before, "activity_outbox_oldest_age_seconds") == 0
    for _ in range(4):
        resp = await client.post("/execute", data=sign(execute_payload(event_arguments())))
        assert (await resp.json())["roktStatus"] == "queued"
    await asyncio.sleep(0.2)
    after = await scrape(client)
    assert value(after, "activity_outbox_depth") == 4
    assert 0.2 <= value(after, "activity_outbox_oldest_age_seconds") < 30


async def test_an_unreadable_database_makes_the_gauges_unknown_not_the_scrape_fail(
    aiohttp_client: ClientFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = await service(aiohttp_client, tmp_path, "http://127.0.0.1:9", run_delivery=False)
    await client.post("/execute", data=sign(execute_payload(event_arguments())))
    await client.app[STORE].close()
    caplog.set_level(logging.WARNING)
    found = await scrape(client)
    assert math.isnan(value(found, "activity_outbox_depth"))
    assert math.isnan(value(found, "activity_outbox_oldest_age_seconds"))
    assert value(found, "activity_executes_total", status="queued") == 1
    assert "outbox depth unavailable" in {r.getMessage() for r in caplog.records}
    await client.app[STORE].open()  # the fixture's cleanup closes it again


async def test_each_app_counts_only_its_own_calls(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    first = await service(aiohttp_client, tmp_path / "a", "http://127.0.0.1:9", run_delivery=False)
    second = await service(aiohttp_client, tmp_path / "b", "http://127.0.0.1:9", run_delivery=False)
    await first.post("/execute", data=sign(execute_payload(event_arguments())))
    assert value(await scrape(first), "activity_executes_total", status="queued") == 1
    assert value(await scrape(second), "activity_executes_total", status="queued") == 0


async def test_scrape_shows_work_waiting_for_a_retry(
    aiohttp_client: ClientFactory, tmp_path: Path, rokt: tuple[FakeRokt, str]
) -> None:
    fake, url = rokt
    client = await service(aiohttp_client, tmp_path, url)
    found = await scrape(client)
    assert value(found, "activity_outbox_retrying") == 0
    assert value(found, "activity_outbox_retrying_max_attempt") == 0
    fake.script("create", [503] * 50)
    for _ in range(2):
        await client.post("/execute", data=sign(execute_payload(event_arguments())))
    deadline = time.monotonic() + 20
    while len(await client.app[STORE].retrying_items(None)) < 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    await client.app[WORKER].stop()
    waiting = await client.app[STORE].retrying_items(None)
    found = await scrape(client)
    assert value(found, "activity_outbox_retrying") == 2
    assert value(found, "activity_outbox_retrying_max_attempt") == max(w.attempts for w in waiting)
    assert value(found, "activity_outbox_depth") == 2  # still pending, not lost
