"""Retry policy as data: which answers are retried, how long to wait, when to give up."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

# Answers worth retrying; any other 5xx is retried too (see `is_retryable`).
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})

# Attempts per item (each claim counts one). With the numbers below an item keeps trying
# for about two hours (1.4 to 2.8 h, depending on jitter) before it ends as dead.
MAX_ATTEMPTS = 20
BASE_SECONDS = 2.0
FACTOR = 2.0
MAX_DELAY_SECONDS = 15 * 60.0


def is_retryable(status: int) -> bool:
    return status in RETRYABLE or 500 <= status <= 599


def backoff(
    attempt: int,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1 for the first).

    Capped exponential with "equal jitter" (between half and all of the step, so retries
    of many items spread out but never collapse to zero). Never sooner than Rokt's
    Retry-After; nothing waits longer than MAX_DELAY_SECONDS.
    """
    step = min(MAX_DELAY_SECONDS, BASE_SECONDS * FACTOR ** max(0, attempt - 1))
    delay = step / 2 + rand() * step / 2
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, MAX_DELAY_SECONDS)


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date; None if absent or bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now())
