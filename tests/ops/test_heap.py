"""The served process's collector settings: startup's objects frozen, young passes rarer,
cycles still collected; and `serve` applies them once startup is done."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from activity import cli
from activity.devtools.bench.procs import free_port
from activity.devtools.jb import TEST_SECRET
from activity.ops import heap

AFTER_SETTLE = """
import gc, json, weakref
from activity.ops import heap
import aiohttp.web  # something for startup to have built
heap.settle()
frozen, threshold = gc.get_freeze_count(), gc.get_threshold()

class Node:
    pass

freed = []
for _ in range(30_000):  # cycles: reference counting alone never frees them
    a, b = Node(), Node()
    a.other, b.other = b, a
    weakref.finalize(a, freed.append, 1)
    del a, b
print(json.dumps({"frozen": frozen, "threshold": threshold, "freed": len(freed)}))
"""


def test_settle_freezes_startup_and_still_collects_cycles() -> None:
    done = subprocess.run(
        [sys.executable, "-c", AFTER_SETTLE], capture_output=True, text=True, check=True
    )
    found = json.loads(done.stdout)
    assert found["frozen"] > 10_000  # aiohttp alone builds more than that
    assert tuple(found["threshold"]) == (heap.YOUNG_THRESHOLD, *heap.OLDER_THRESHOLDS)
    # Young passes came every 10,000 net allocations: all but the last few thousand cycles
    # were found (each Node pair and its finalizer is a handful of tracked objects).
    assert found["freed"] > 25_000


def test_serve_settles_the_heap_after_every_other_startup_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    captured: list[web.Application] = []
    settled: list[bool] = []
    monkeypatch.setattr(web, "run_app", lambda app, **_: captured.append(app))
    monkeypatch.setattr(heap, "settle", lambda: settled.append(True))
    env: dict[str, Any] = {
        "ACTIVITY_PUBLIC_URL": "https://ca.example.com",
        "ACTIVITY_JWT_SECRET": TEST_SECRET,
        "ACTIVITY_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    switch = sys.getswitchinterval()
    try:
        assert cli.main(["serve", "--port", str(free_port()), "--workers", "1"]) == 0
    finally:  # serve made and set its own loop and switch interval: not for other tests
        asyncio.get_event_loop_policy().get_event_loop().close()
        asyncio.set_event_loop(None)
        sys.setswitchinterval(switch)
    (app,) = captured
    assert not settled  # not before startup
    asyncio.run(app.on_startup[-1](app))
    assert settled == [True]
