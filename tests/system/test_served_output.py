"""The whole output of a served process, read line by line: every line is one JSON object
(Python warnings included), each delivery round says what it did, each dead item has its line,
and ACTIVITY_LOG_LEVEL decides what is written.

The development secret is shorter than PyJWT wants for HS256, so PyJWT warns on each verify:
that warning must arrive as a JSON log line, not as two raw lines of Python warning text."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from activity.devtools.fake_rokt import FakeRokt, running_fake_rokt
from activity.devtools.jb import event_arguments, execute_payload, lifecycle_payload, sign
from tests.admin_support import MID_A
from tests.service_process import Service, wait_until

# The test signs with the short secret too; its own warnings are not what is tested.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
SHORT_SECRET = "dev-secret-20-bytes!"  # < 32 bytes: PyJWT's InsecureKeyLengthWarning


@pytest.fixture
async def rokt() -> AsyncIterator[tuple[FakeRokt, str]]:
    async with running_fake_rokt() as running:
        yield running


async def serve_and_deliver(
    rokt: tuple[FakeRokt, str], tmp_path: Path, **env: str
) -> tuple[list[dict[str, Any]], FakeRokt, str]:
    fake, url = rokt
    service = Service(
        url,
        database_url=f"sqlite:///{tmp_path / 'out.db'}",
        ACTIVITY_JWT_SECRET=SHORT_SECRET,
        **env,
    )
    await service.configure(MID_A)
    bad = str(uuid.uuid4())
    fake.reject_subscriptions(bad, reason="subscription deactivated")
    subs = [str(uuid.uuid4()) for _ in range(3)] + [bad]
    await service.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{service.url}/publish", data=sign(lifecycle_payload(), SHORT_SECRET)
            ) as resp:
                assert resp.status == 200
            for i, sub in enumerate(subs):
                # contact scope: one Rokt call per contact, so the bad one fails alone
                args = event_arguments(mid=MID_A, calendarSubscriptionId=sub, eventScope="contact")
                body = sign(execute_payload(args, contact_key=f"K{i}"), SHORT_SECRET)
                async with http.post(f"{service.url}/execute", data=body) as resp:
                    assert (await resp.json())["roktStatus"] == "queued"
        await wait_until(lambda: len(fake.calls("create")) >= len(subs), 30)
        await wait_until(lambda: any("gave up" in line for line in service.lines), 10)
    finally:
        await service.stop()
    lines = [line for line in service.lines if line.strip()]
    entries = []
    for line in lines:
        entry = json.loads(line)  # raises on any line that is not one JSON object
        assert isinstance(entry, dict) and {"ts", "level", "logger", "msg"} <= set(entry), line
        entries.append(entry)
    return entries, fake, bad


async def test_every_line_is_json_and_rounds_and_dead_items_are_logged(
    rokt: tuple[FakeRokt, str], tmp_path: Path
) -> None:
    entries, fake, bad = await serve_and_deliver(rokt, tmp_path)
    warned = [e for e in entries if e["logger"] == "py.warnings"]
    assert warned and "InsecureKeyLengthWarning" in warned[0]["msg"]
    assert SHORT_SECRET not in json.dumps(entries)

    rounds = [e for e in entries if e["msg"].startswith("Rokt delivery round")]
    assert rounds
    for entry in rounds:
        assert entry["level"] == "info" and entry["mid"] == MID_A
        assert entry["account"] == "acme" and entry["action"] == "create"
        assert entry["items"] >= 1 and entry["duration_ms"] >= 0
        assert entry["items"] == entry.get("sent", 0) + entry.get("retried", 0) + entry.get(
            "dead", 0
        )
    assert sum(e.get("sent", 0) for e in rounds) == len(fake.calls("create", 202))
    statuses = ",".join(e["rokt_status"] for e in rounds)
    assert "202x" in statuses and "400x1" in statuses

    dead = [e for e in entries if e["msg"].startswith("Rokt delivery gave up")]
    assert len(dead) == 1
    assert dead[0]["reason"] == "rejected" and dead[0]["item_id"] and dead[0]["event_id"]
    assert dead[0]["journey_id"] and dead[0]["activity_id"] and bad in dead[0]["msg"]
    assert any(e["msg"].startswith("serving on http://127.0.0.1:") for e in entries)


async def test_the_log_level_variable_quiets_info(
    rokt: tuple[FakeRokt, str], tmp_path: Path
) -> None:
    entries, _, _ = await serve_and_deliver(rokt, tmp_path, ACTIVITY_LOG_LEVEL="warning")
    assert entries
    assert {e["level"] for e in entries} <= {"warning", "error", "critical"}
    assert any(e["msg"].startswith("Rokt delivery gave up") for e in entries)
