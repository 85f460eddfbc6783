from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import aiohttp

from activity.devtools.bench.procs import free_port
from activity.devtools.jb import TEST_SECRET, lifecycle_payload, sign


async def test_serve_runs_the_service_a_newcomer_can_reach(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ACTIVITY_", "ROKT_"))},
        "ACTIVITY_PUBLIC_URL": "https://ca.example.com",
        "ACTIVITY_JWT_SECRET": TEST_SECRET,
        "ACTIVITY_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "activity",
        "serve",
        "--port",
        str(port),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(f"{base}/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            async with http.get(f"{base}/config.json") as resp:
                assert (await resp.json())["arguments"]["execute"]["url"] == (
                    "https://ca.example.com/execute"
                )
            async with http.post(f"{base}/publish", data=sign(lifecycle_payload())) as resp:
                assert resp.status == 200
            async with http.post(f"{base}/publish", data=b"x.y.z") as resp:
                assert resp.status == 401
    finally:
        proc.terminate()
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=20)
    assert TEST_SECRET.encode() not in stderr
    assert (tmp_path / "a.db").exists()
