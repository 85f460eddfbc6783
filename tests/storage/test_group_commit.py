from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from activity.errors import StorageUnavailable
from activity.storage.group_commit import AcceptJob, GroupCommit, Result
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
