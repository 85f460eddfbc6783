"""The leased-queue worker loop: rounds, spacing, sleeping, failures, start and stop."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from activity.storage.worker_loop import LeasedWorker


class Counting(LeasedWorker):
    """Rounds claim from a list of batch sizes; what a round did is recorded."""

    _log = logging.getLogger("tests.counting")
    task_name = "counting-worker"
    what = "counting"
    leases = "counting leases"

    def __init__(self, batches: list[int | Exception], **options: float) -> None:
        super().__init__(
            owner="me",
            batch_size=10,
            poll_seconds=options.get("poll", 5.0),
            round_interval_seconds=options.get("interval", 0.0),
            stop_grace_seconds=1.0,
        )
        self.batches = batches
        self.rounds: list[float] = []
        self.released = 0
        self.sleeps: list[int] = []

    async def run_once(self) -> int:
        self.rounds.append(time.monotonic())
        batch = self.batches.pop(0) if self.batches else 0
        if isinstance(batch, Exception):
            raise batch
        return batch

    async def _release(self) -> None:
        self.released += 1

    async def _sleep(self, claimed: int) -> bool:
        self.sleeps.append(claimed)
        try:
            await asyncio.wait_for(self._wakeup.wait(), self._poll)
        except TimeoutError:
            return False
        return True

    def _error_pause(self) -> float:
        return 0.05


async def rounds_reach(worker: Counting, n: int, within: float = 2.0) -> None:
    deadline = time.monotonic() + within
    while len(worker.rounds) < n:
        assert time.monotonic() < deadline, worker.rounds
        await asyncio.sleep(0.005)


async def test_start_and_stop_release_leases_and_stop_ends_the_task() -> None:
    worker = Counting([])
    await worker.start()
    await worker.start()  # a second start does not start a second loop
    assert worker.released == 1
    await rounds_reach(worker, 1)
    await worker.stop()
    assert worker.released == 2
    assert worker._task is None
    await worker.stop()  # stopping twice is harmless
    assert worker.released == 2


async def test_a_full_round_is_followed_at_once_and_a_partial_one_sleeps_until_woken() -> None:
    worker = Counting([10, 10, 3])
    await worker.start()
    try:
        await rounds_reach(worker, 3)
        assert worker.sleeps == [3]  # no sleep after the full rounds: a backlog drains
        await asyncio.sleep(0.05)
        assert len(worker.rounds) == 3  # asleep: the poll is five seconds
        worker.wake()
        await rounds_reach(worker, 4)
    finally:
        await worker.stop()


async def test_rounds_that_found_work_are_spaced_by_the_interval() -> None:
    worker = Counting([2, 2], interval=0.2)
    await worker.start()
    try:
        await rounds_reach(worker, 1)
        worker.wake()
        await rounds_reach(worker, 2)
        assert worker.rounds[1] - worker.rounds[0] >= 0.2
    finally:
        await worker.stop()


async def test_a_failed_round_is_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = Counting([RuntimeError("boom"), 1])
    with caplog.at_level(logging.ERROR):
        await worker.start()
        try:
            await rounds_reach(worker, 2)
        finally:
            await worker.stop()
    failed = [r for r in caplog.records if r.getMessage() == "counting round failed"]
    assert len(failed) == 1 and failed[0].name == "tests.counting"  # the worker's own logger
    assert worker.rounds[1] - worker.rounds[0] < 1.0  # the pause, not the poll


async def test_with_collect_bursts_the_first_wake_up_after_a_quiet_spell_waits_an_interval() -> (
    None
):
    class Bursty(Counting):
        collect_bursts = True

    worker = Bursty([0, 1], interval=0.2)
    await worker.start()
    try:
        await rounds_reach(worker, 1)
        worker.wake()
        await rounds_reach(worker, 2)
        assert worker.rounds[1] - worker.rounds[0] >= 0.2
    finally:
        await worker.stop()
