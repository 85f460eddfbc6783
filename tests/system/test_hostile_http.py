"""Attacks on a served process over real sockets: one contact's data never fails another's,
and slow or compressed bodies never stall anyone else (issue: hostile review, round two)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from activity.devtools.fake_rokt.server import start_fake_rokt
from activity.devtools.jb import event_arguments, execute_payload, sign
from tests.pg import fresh_database
from tests.service_process import Service

pytestmark = pytest.mark.slow


@pytest.fixture
async def rokt_url() -> AsyncIterator[str]:
    _, url, runner = await start_fake_rokt()
    yield url
    await runner.cleanup()


@contextlib.asynccontextmanager
async def database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'hostile.db'}"
    else:
        async with fresh_database() as url:
            yield url


@contextlib.asynccontextmanager
async def served(backend: str, tmp_path: Path, rokt_url: str) -> AsyncIterator[Service]:
    async with database(backend, tmp_path) as database_url:
        service = Service(rokt_url, database_url=database_url)
        await service.configure()
        await service.start()
        try:
            yield service
        finally:
            await service.stop()


async def post_execute(
    http: aiohttp.ClientSession, url: str, payload: dict[str, object]
) -> tuple[int, dict[str, str]]:
    async with http.post(f"{url}/execute", data=sign(payload)) as resp:
        return resp.status, await resp.json()


def good(i: int) -> dict[str, object]:
    return execute_payload(
        event_arguments(calendarSubscriptionId=str(uuid.uuid4())), contact_key=f"good-{i}"
    )


# --- one contact's data fails alone -------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_an_unstorable_contact_key_fails_alone_in_its_group_commit(
    backend: str, tmp_path: Path, rokt_url: str
) -> None:
    """A lone surrogate is legal JSON but no database can store it as UTF-8 text; the good
    contacts committed in the same rounds must all be queued."""
    async with served(backend, tmp_path, rokt_url) as service:
        connector = aiohttp.TCPConnector(limit=100)
        async with aiohttp.ClientSession(connector=connector) as http:
            for round_ in range(5):
                bad = execute_payload(event_arguments(), contact_key="bad\ud800")
                goods = [good(round_ * 1000 + i) for i in range(199)]
                answers = await asyncio.gather(
                    post_execute(http, service.url, bad),
                    *(post_execute(http, service.url, p) for p in goods),
                )
                statuses = [(status, body.get("roktStatus")) for status, body in answers[1:]]
                assert statuses == [(200, "queued")] * 199, f"round {round_}"
                assert answers[0][1].get("roktStatus") != "queued"
