"""The standalone `rokt-activity fake-rokt` with its fidelity options, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

import aiohttp

from activity.devtools.bench.procs import free_port
from activity.devtools.fake_rokt import FakeRokt
from activity.devtools.fake_rokt.replay import lognormal_latency, parse_latency, replay
from activity.devtools.jb import rokt_event
from activity.rokt.token_cache import credentials


async def start(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "activity", "fake-rokt", "--port", str(port), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    await asyncio.wait_for(proc.stdout.readline(), 20)
    return proc, f"http://127.0.0.1:{port}"


async def test_standalone_fake_records_to_a_file_and_over_http_and_counts_duplicates(
    tmp_path: Path,
) -> None:
    record = tmp_path / "rokt.jsonl"
    proc, url = await start("--record", str(record), "--account-code", "acme")
    try:
        async with aiohttp.ClientSession() as http:
            form, headers = credentials("demo-client", "demo-secret")
            async with http.post(f"{url}/oauth2/token", data=form, headers=headers) as resp:
                token = (await resp.json())["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            sub = str(uuid.uuid4())
            body = {"event": rokt_event(), "subscriptionIds": [sub]}
            statuses = []
            for account in ("acme", "acme", "other"):
                path = f"{url}/v1/subscriptionevent/{account}"
                async with http.post(path, json=body, headers=auth) as resp:
                    statuses.append(resp.status)
            assert statuses == [202, 202, 404]  # "other" is not the client's account
            async with http.get(f"{url}/__fake/duplicates") as resp:
                assert (await resp.json())["duplicates"] == 1
            async with http.get(f"{url}/__fake/requests") as resp:
                over_http = (await resp.json())["requests"]
    finally:
        proc.terminate()
        await proc.wait()
    on_disk = [json.loads(line) for line in record.read_text().splitlines()]
    assert on_disk == over_http  # the file outlives the process
    assert [r["status"] for r in on_disk] == [200, 202, 202, 404]
    assert "demo-secret" not in record.read_text()


async def test_replay_answers_like_the_recording_with_its_delays(tmp_path: Path) -> None:
    records = [
        {"endpoint": "create", "status": 503, "delay": 0.0},
        {"endpoint": "create", "status": 202, "delay": 0.3},
    ]
    path = tmp_path / "session.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    proc, url = await start("--replay", str(path))
    try:
        async with aiohttp.ClientSession() as http:
            form, headers = credentials("demo-client", "demo-secret")
            async with http.post(f"{url}/oauth2/token", data=form, headers=headers) as resp:
                token = (await resp.json())["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            body = {"event": rokt_event(), "subscriptionIds": [str(uuid.uuid4())]}
            seen = []
            for _ in range(3):
                started = time.monotonic()
                async with http.post(
                    f"{url}/v1/subscriptionevent/acme", json=body, headers=auth
                ) as resp:
                    seen.append((resp.status, time.monotonic() - started))
    finally:
        proc.terminate()
        await proc.wait()
    assert [s for s, _ in seen] == [503, 202, 202]
    assert seen[1][1] >= 0.3 and seen[0][1] < 0.3 and seen[2][1] < 0.3


def test_latency_has_the_asked_median_and_tail() -> None:
    import random

    draw = lognormal_latency(*parse_latency("100,400"), rng=random.Random(7))
    samples = sorted(draw() for _ in range(20_000))
    assert abs(samples[10_000] - 0.100) < 0.01
    assert abs(samples[19_800] - 0.400) < 0.06
    assert parse_latency("50") == (50.0, 200.0)


def test_replay_scripts_one_answer_per_record() -> None:
    fake = FakeRokt()
    assert (
        replay(fake, [{"endpoint": "token", "status": 200}, {"endpoint": "api", "status": 429}])
        == 2
    )
    assert fake.scripted_left == 2
