"""TokenBucket: a burst at once, then the rate; waits say when the next may go."""

from __future__ import annotations

import pytest

from activity.ops.rate import TokenBucket
from tests.clock import Clock


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take() == pytest.approx(0.5)  # empty: one token every 0.5 s
    clock.now += 0.25
    assert bucket.take() == pytest.approx(0.25)
    clock.now += 0.25
    assert bucket.take() == 0.0
    assert bucket.take() > 0


def test_a_long_pause_refills_only_up_to_the_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=10.0, burst=2, clock=clock)
    bucket.take(), bucket.take()
    clock.now += 3600
    takes = [bucket.take() for _ in range(3)]
    assert takes[:2] == [0.0, 0.0] and takes[2] > 0


def test_refused_takes_spend_nothing() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=1.0, burst=1, clock=clock)
    assert bucket.take() == 0.0
    for _ in range(100):  # a flood while empty does not push the next token further out
        assert bucket.take() == pytest.approx(1.0)
    clock.now += 1.0
    assert bucket.take() == 0.0


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 5), (-1.0, 5), (1.0, 0.5)])
def test_a_bucket_that_could_never_give_is_refused(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match="positive rate"):
        TokenBucket(rate, burst)
