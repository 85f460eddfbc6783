"""Retry policy: backoff numbers, Retry-After, which statuses are retried."""

from __future__ import annotations

from email.utils import formatdate

from hypothesis import given
from hypothesis import strategies as st

from activity.rokt.retry import (
    BASE_SECONDS,
    MAX_ATTEMPTS,
    MAX_DELAY_SECONDS,
    backoff,
    is_retryable,
    parse_retry_after,
)


def test_backoff_doubles_from_the_base_with_equal_jitter() -> None:
    assert [backoff(n, rand=lambda: 1.0) for n in range(1, 6)] == [2, 4, 8, 16, 32]
    assert [backoff(n, rand=lambda: 0.0) for n in range(1, 6)] == [1, 2, 4, 8, 16]
    assert backoff(1, rand=lambda: 0.5) == 1.5


def test_backoff_is_capped() -> None:
    assert backoff(30, rand=lambda: 1.0) == MAX_DELAY_SECONDS
    assert backoff(1000, rand=lambda: 0.999) <= MAX_DELAY_SECONDS


def test_retry_after_is_a_floor_up_to_the_cap() -> None:
    assert backoff(1, retry_after=30, rand=lambda: 1.0) == 30
    assert backoff(10, retry_after=30, rand=lambda: 1.0) == MAX_DELAY_SECONDS
    assert backoff(8, retry_after=3, rand=lambda: 0.0) == 128
    assert backoff(1, retry_after=86400) == MAX_DELAY_SECONDS


@given(
    attempt=st.integers(min_value=1, max_value=200),
    jitter=st.floats(min_value=0.0, max_value=0.999999),
    retry_after=st.none() | st.floats(min_value=0, max_value=10_000),
)
def test_backoff_bounds(attempt: int, jitter: float, retry_after: float | None) -> None:
    delay = backoff(attempt, retry_after, rand=lambda: jitter)
    step = min(MAX_DELAY_SECONDS, BASE_SECONDS * 2 ** (attempt - 1))
    assert step / 2 <= delay <= MAX_DELAY_SECONDS
    if retry_after is not None:
        assert delay >= min(retry_after, MAX_DELAY_SECONDS)
    else:
        assert delay <= step


def test_an_item_keeps_trying_for_about_two_hours() -> None:
    shortest = sum(backoff(n, rand=lambda: 0.0) for n in range(1, MAX_ATTEMPTS))
    longest = sum(backoff(n, rand=lambda: 1.0) for n in range(1, MAX_ATTEMPTS))
    assert 1.3 * 3600 < shortest < longest < 3 * 3600


def test_retryable_statuses() -> None:
    assert all(is_retryable(s) for s in (408, 425, 429, 500, 502, 503, 504, 507, 599))
    assert not any(is_retryable(s) for s in (200, 202, 400, 401, 403, 404, 409, 422))


def test_parse_retry_after() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after("120") == 120
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0
    assert parse_retry_after(formatdate(now + 90, usegmt=True), now=lambda: now) == 90
    assert parse_retry_after(formatdate(now - 90, usegmt=True), now=lambda: now) == 0
    for bad in (None, "", "soon", "nan", "inf", "Mon, 99 Foo 2026"):
        assert parse_retry_after(bad) is None
