from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from activity.errors import StorageUnavailable
from activity.storage.group_commit import (
    MAX_BATCH,
    STEPS_BETWEEN_TRANSACTIONS,
    AcceptJob,
    GroupCommit,
    Outcome,
    Result,
)
from activity.storage.models import Answer


def job(n: int) -> AcceptJob:
    return AcceptJob(f"a{n}", f"d{n}", Answer(200, {"n": n}), (), 0.0)


class Recorder:
    def __init__(self, bad: set[str] | None = None) -> None:
        self.batches: list[list[str]] = []
        self.bad = bad or set()

    async def commit(self, jobs: Sequence[AcceptJob]) -> list[Result]:
        self.batches.append([j.activity_id for j in jobs])
        await asyncio.sleep(0.01)  # the next arrivals queue up behind this transaction
        if self.bad & {j.activity_id for j in jobs}:
            raise ValueError("bad job data")
        return [(j.answer, True) for j in jobs]


async def test_concurrent_submits_share_transactions_and_get_their_own_result() -> None:
    rec = Recorder()
    commits = GroupCommit(rec.commit)
    results = await asyncio.gather(*(commits.submit(job(n)) for n in range(100)))
    assert [r[0].body["n"] for r in results] == list(range(100))
    assert len(rec.batches) < 10
    assert sorted(a for b in rec.batches for a in b) == sorted(f"a{n}" for n in range(100))
    await commits.stop(1.0)


async def test_one_bad_job_fails_alone_whatever_its_error() -> None:
    rec = Recorder(bad={"a3"})
    commits = GroupCommit(rec.commit)  # no error is declared per-job: any one is isolated
    results = await asyncio.gather(
        *(commits.submit(job(n)) for n in range(6)), return_exceptions=True
    )
    failed = [n for n, r in enumerate(results) if isinstance(r, BaseException)]
    assert failed == [3]
    assert isinstance(results[3], StorageUnavailable)
    await commits.stop(1.0)


async def test_systemic_errors_fail_the_whole_batch_without_retrying_job_by_job() -> None:
    rec = Recorder(bad={"a0"})
    commits = GroupCommit(rec.commit, systemic=lambda e: isinstance(e, ValueError))
    results = await asyncio.gather(
        *(commits.submit(job(n)) for n in range(4)), return_exceptions=True
    )
    [poisoned] = [b for b in rec.batches if "a0" in b]
    assert len(poisoned) > 1  # the neighbours were in the same transaction
    for n, result in enumerate(results):
        assert isinstance(result, StorageUnavailable) == (f"a{n}" in poisoned)
    assert sum(1 for b in rec.batches if "a0" in b) == 1  # not retried alone
    await commits.stop(1.0)


async def test_stop_commits_what_waits_and_refuses_new_work() -> None:
    rec = Recorder()
    commits = GroupCommit(rec.commit)
    waiting = [asyncio.create_task(commits.submit(job(n))) for n in range(5)]
    await asyncio.sleep(0)
    await commits.stop(1.0)
    assert [t.result()[1] for t in waiting] == [True] * 5
    with pytest.raises(StorageUnavailable, match="closing"):
        await commits.submit(job(9))


class ThreadedRecorder:
    """A `start` backend like SQLite's: the transaction runs in a thread of its own, which
    reports back with call_soon_threadsafe."""

    def __init__(self, bad: set[str] | None = None, seconds: float = 0.01) -> None:
        self.batches: list[list[str]] = []
        self.bad = bad or set()
        self.seconds = seconds
        self.pool = ThreadPoolExecutor(max_workers=1)

    def start(self, jobs: Sequence[AcceptJob], done: Callable[[Outcome], None]) -> None:
        loop = asyncio.get_running_loop()
        self.batches.append([j.activity_id for j in jobs])

        def run() -> None:
            time.sleep(self.seconds)
            outcome: Outcome
            if self.bad & {j.activity_id for j in jobs}:
                outcome = StorageUnavailable("database error: bad job data")
                outcome.__cause__ = ValueError("bad job data")
            else:
                outcome = [(j.answer, True) for j in jobs]
            loop.call_soon_threadsafe(done, outcome)

        self.pool.submit(run)


async def test_a_threaded_backend_shares_transactions_and_isolates_a_bad_job() -> None:
    rec = ThreadedRecorder(bad={"a7"})
    commits = GroupCommit(start=rec.start)
    results = await asyncio.gather(
        *(commits.submit(job(n)) for n in range(40)), return_exceptions=True
    )
    assert [n for n, r in enumerate(results) if isinstance(r, BaseException)] == [7]
    assert all(r[0].body["n"] == n for n, r in enumerate(results) if n != 7)  # type: ignore[index]
    everyone = [f"a{n}" for n in range(40)]
    # All in one transaction; it failed, so each was tried alone, in order, and only a7 failed.
    assert rec.batches == [everyone, *([a] for a in everyone)]
    await commits.stop(1.0)
    rec.pool.shutdown()


async def test_a_backend_that_cannot_start_fails_its_contacts_with_a_reason() -> None:
    def start(jobs: Sequence[AcceptJob], done: Callable[[Outcome], None]) -> None:
        raise RuntimeError("cannot schedule new futures after shutdown")

    commits = GroupCommit(start=start)
    with pytest.raises(StorageUnavailable, match="could not commit: cannot schedule"):
        await commits.submit(job(1))
    await commits.stop(1.0)


async def test_stop_answers_a_transaction_still_running_after_the_grace_and_ignores_it_later() -> (
    None
):
    rec = ThreadedRecorder(seconds=0.5)
    commits = GroupCommit(start=rec.start)
    waiting = asyncio.create_task(commits.submit(job(1)))
    await asyncio.sleep(0.05)  # in the thread now
    await commits.stop(0.1)
    with pytest.raises(StorageUnavailable, match="closing"):
        await waiting
    await asyncio.sleep(0.6)  # the thread reports after all: nothing breaks, nothing starts
    assert rec.batches == [["a1"]]
    rec.pool.shutdown()


def test_a_group_commit_takes_exactly_one_kind_of_backend() -> None:
    async def both() -> None:
        with pytest.raises(TypeError):
            GroupCommit()
        with pytest.raises(TypeError):
            GroupCommit(Recorder().commit, start=ThreadedRecorder().start)

    asyncio.run(both())


class Held:
    """A `start` backend whose transactions end when the test says."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.ends: list[Callable[[], None]] = []

    def start(self, jobs: Sequence[AcceptJob], done: Callable[[Outcome], None]) -> None:
        self.batches.append([j.activity_id for j in jobs])
        self.ends.append(lambda: done([(j.answer, True) for j in jobs]))


async def one_in_flight() -> tuple[Held, GroupCommit, asyncio.Future[Result]]:
    """A group commit whose first transaction, contact a0's alone, has started."""
    held = Held()
    commits = GroupCommit(start=held.start)
    first = asyncio.ensure_future(commits.submit(job(0)))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert held.batches == [["a0"]]  # nothing was in flight: it started at once
    return held, commits, first


async def test_contacts_read_in_the_steps_after_a_commit_join_the_next_transaction() -> None:
    held, commits, first = await one_in_flight()
    waiting = [asyncio.ensure_future(commits.submit(job(1)))]
    await asyncio.sleep(0)
    held.ends.pop()()  # the first transaction ends
    for n in (2, 3):  # two more contacts, each a step of the loop later
        waiting.append(asyncio.ensure_future(commits.submit(job(n))))
        await asyncio.sleep(0)
    assert held.batches == [["a0"]]
    for _ in range(STEPS_BETWEEN_TRANSACTIONS):
        await asyncio.sleep(0)
    assert held.batches == [["a0"], ["a1", "a2", "a3"]]
    assert (await first)[0].body == {"n": 0}
    held.ends.pop()()
    assert [r[0].body["n"] for r in await asyncio.gather(*waiting)] == [1, 2, 3]
    await commits.stop(1.0)


async def test_a_full_batch_does_not_wait_for_the_steps() -> None:
    held, commits, first = await one_in_flight()
    rest = [asyncio.ensure_future(commits.submit(job(n))) for n in range(1, MAX_BATCH + 1)]
    await asyncio.sleep(0)
    held.ends.pop()()  # MAX_BATCH contacts wait: the next transaction starts in this step
    assert held.batches[1] == [f"a{n}" for n in range(1, MAX_BATCH + 1)]
    held.ends.pop()()
    await asyncio.gather(first, *rest)
    await commits.stop(1.0)
