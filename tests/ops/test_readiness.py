"""Readiness: a probe write at most once per interval, and execute's failed writes remembered."""

from __future__ import annotations

from pathlib import Path

from activity.ops.readiness import FAILED_WRITE_MEMORY_SECONDS, Readiness
from activity.storage.sqlite import SQLiteStore
from tests.clock import Clock


async def test_a_failed_write_is_remembered_until_a_write_succeeds_or_time_passes(
    store: SQLiteStore,
) -> None:
    clock = Clock()
    readiness = Readiness(interval=5.0, clock=clock)
    assert await readiness.problem(store) == ""
    readiness.write_failed()
    assert await readiness.problem(store) == "the database refused execute's latest write"
    clock.now += 1
    readiness.write_succeeded()
    assert await readiness.problem(store) == ""
    readiness.write_failed()
    clock.now += FAILED_WRITE_MEMORY_SECONDS
    assert await readiness.problem(store) == ""


async def test_a_closed_store_is_not_ready_and_the_probe_waits_for_its_interval(
    tmp_path: Path,
) -> None:
    clock = Clock()
    backend = SQLiteStore(tmp_path / "activity.db")
    await backend.open()
    readiness = Readiness(interval=5.0, clock=clock)
    assert await readiness.problem(backend) == ""
    await backend.close()
    assert await readiness.problem(backend) == ""  # probed within the interval: remembered
    clock.now += 5.0
    assert await readiness.problem(backend) == "the database cannot take a write"
